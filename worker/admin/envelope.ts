/**
 * Cloudflare's v4 envelope `{success, errors: [{code, message, path}], messages, result}`: the
 * values every admin handler answers with, the zod schemas that describe them in the OpenAPI
 * document, and the admin app's environment. Every other admin module imports this one; it
 * imports none of them.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import type { ApiError } from '../../core/config/index.ts';

/** Bindings the admin API reads: the Worker's (wrangler types, worker/env.ts), ADMIN_TOKEN among them. */
export type AdminBindings = Env & {
  /** Secret bearer token; unset or empty means every admin request is refused (401). */
  ADMIN_TOKEN?: string;
  /** Secret read-only bearer tokens, comma separated (auth.ts). */
  ADMIN_READ_TOKENS?: string;
};
/** What a request's token may do: everything, or read (auth.ts). */
export type Role = 'admin' | 'read';
export type AdminEnv = { Bindings: AdminBindings; Variables: { role: Role; /** The verified bearer token (never logged). */ token: string } };
export type AdminContext = Context<AdminEnv>;

/** Every admin route lives under this prefix. */
export const API_PREFIX = '/admin/v1';

/** Statuses an admin failure is answered with. */
export type FailureStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 500;

/** A successful answer. */
export function ok<T>(result: T) {
  return { success: true as const, errors: [] as ApiError[], messages: [] as string[], result };
}

/** A failed answer: one error per problem, `result` null. */
export function failed(errors: ApiError[]) {
  return { success: false as const, errors, messages: [] as string[], result: null };
}

/** Answers `status` with `errors` in the envelope. */
export function failure<S extends FailureStatus>(c: Context, status: S, errors: ApiError[]) {
  return c.json(failed(errors), status);
}

// ------------------------------------------------------------------------------ store refusals

export type Refusal = 400 | 404 | 409 | 412;
/**
 * The statuses each ConfigStore operation refuses with (durable-objects/config-store): 404 unknown
 * id, 400 invalid (or an unknown reference), 409 conflict, 412 stale If-Match. The routes document
 * exactly these, and `refuse` holds the store to them.
 */
export const REFUSALS = {
  get: [404],
  create: [400, 409],
  replace: [400, 404, 409, 412],
  remove: [404, 409, 412],
  importConfig: [400, 409, 412],
} as const satisfies Record<string, readonly Refusal[]>;

/** Answers a refusal of the ConfigStore, holding it to the statuses the route documents (any other is a 500). */
export function refuse<R extends Refusal>(c: Context, outcome: { status: Refusal; errors: ApiError[] }, refusals: readonly R[]) {
  if (!(refusals as readonly Refusal[]).includes(outcome.status))
    throw new Error(`the ConfigStore refused with ${outcome.status}, which this route does not document`);
  return failure(c, outcome.status as R, outcome.errors);
}

// ------------------------------------------------------------------------ schemas for the document

/** Typed as core's ApiError so that handler answers and route schemas are one type, even inside generic routes. */
export const ErrorSchema: z.ZodType<ApiError> = z
  .object({
    code: z.int(),
    message: z.string().describe('names the field path first when the error is about a field: "origins[0].weight: Too big: ..."'),
    path: z.string().optional().describe('the field path ("" = the whole body)'),
  })
  .meta({ id: 'Error' });

/** The envelope of a successful answer whose `result` is `result`. */
export function Envelope<T extends z.ZodType>(result: T) {
  return z.object({ success: z.literal(true), errors: z.array(ErrorSchema), messages: z.array(z.string()), result });
}

export const Failure = z
  .object({ success: z.literal(false), errors: z.array(ErrorSchema), messages: z.array(z.string()), result: z.null() })
  .meta({ id: 'Failure' });

/** A JSON response of the document. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

const FAILURE_DESCRIPTIONS = {
  400: 'Invalid input: one error per problem, each naming its field path; nothing stored',
  401: 'Missing or wrong bearer token, or no ADMIN_TOKEN configured (the admin API is then disabled)',
  403: 'A read-only token (ADMIN_READ_TOKENS) asked to write; nothing changed',
  404: 'Not found',
  409: 'Conflict: a hostname already in use, or still referenced; nothing changed',
  412: 'If-Match names a stale ETag; nothing changed',
  413: 'The body is larger than the route allows',
  415: 'The body is not JSON (Content-Type must be application/json or application/*+json)',
} as const;
type Described = keyof typeof FAILURE_DESCRIPTIONS;

/** The failure responses of a route, for the document and for its handler's return type. */
export function failures<const S extends readonly Described[]>(...statuses: S) {
  return Object.fromEntries(statuses.map((s) => [s, json(Failure, FAILURE_DESCRIPTIONS[s])])) as {
    [K in S[number]]: ReturnType<typeof json<typeof Failure>>;
  };
}
