/**
 * The dashboard's forms, validated with zod at the boundary: each failure names its field. What an
 * action then asks of the admin API is validated there again (the API's own schemas and messages).
 */
import { z } from 'zod';
import { IdSchema } from '../../core/config/index.ts';
import type { PreviewFacts } from '../admin/preview.ts';
import { MAX_TOKEN_LENGTH } from './session.ts';
import type { ExplainForm } from './views/tools.tsx';

export const SignInForm = z.object({
  token: z.string().trim().min(1, 'enter a token').max(MAX_TOKEN_LENGTH, `is longer than ${MAX_TOKEN_LENGTH} characters`),
});

/** What an origin action does, as the merge patch of PATCH /pools/{id}/origins/{name}. */
export const ORIGIN_OPS = {
  enable: { enabled: true },
  disable: { enabled: false },
  drain: { drain: true },
  undrain: { drain: false },
} as const;

export const OriginAction = z.object({ pool: IdSchema, origin: z.string().min(1).max(128), op: z.enum(['enable', 'disable', 'drain', 'undrain']) });
export const EnabledAction = z.object({ enabled: z.enum(['true', 'false']).transform((v) => v === 'true') });
export const PoolAction = z.object({ pool: IdSchema, enabled: z.enum(['true', 'false']).transform((v) => v === 'true') });
export const MonitorPreviewAction = z.object({ pool: IdSchema });

const line = z.string().max(4096);
export const ExplainFields = z.object({
  country: z.string().trim().max(2).default(''),
  colo: z.string().trim().max(8).default(''),
  client_ip: z.string().trim().max(64).default(''),
  path: z.string().trim().max(2048).default('/'),
  headers: line.default(''),
  cookies: line.default(''),
});

/** The first problem of a failed parse, as "field: message". */
export function firstProblem(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.join('.') || 'form'}: ${issue.message}`;
}

/** Lines of "key<sep>value" as a record; a line without the separator is an error naming it. */
function pairs(text: string, sep: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const l = raw.trim();
    if (!l) continue;
    const i = l.indexOf(sep);
    if (i <= 0) throw new Error(`${what}: "${l.slice(0, 40)}" is not "name${sep === ':' ? ': ' : '='}value"`);
    out[l.slice(0, i).trim()] = l.slice(i + 1).trim();
  }
  return out;
}

/** The explainer's request facts from its form (empty fields left out); throws an Error naming the field on a malformed line. */
export function factsOf(f: ExplainForm): z.input<typeof PreviewFacts> {
  return {
    ...(f.country ? { country: f.country.toUpperCase() } : {}),
    ...(f.colo ? { colo: f.colo.toUpperCase() } : {}),
    ...(f.client_ip ? { client_ip: f.client_ip } : {}),
    path: f.path || '/',
    headers: pairs(f.headers, ':', 'headers'),
    cookies: pairs(f.cookies, '=', 'cookies'),
  };
}
