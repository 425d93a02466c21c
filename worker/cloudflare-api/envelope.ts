/**
 * Cloudflare's API v4 envelope as Cloudflare's own answers carry it, for the `/client/v4` routes:
 * `{success, errors: [{code, message, source?: {pointer}}], messages: [{code, message}], result,
 * result_info?}` (the SDK's ErrorData and ResponseInfo, npm `cloudflare` 7.3.0 resources/shared.d.ts).
 *
 * - Errors keep our codes (core/config ErrorCode: Cloudflare does not publish the load balancing
 *   ones) and our messages, which name the field path first; the path is also given as a JSON
 *   Pointer (RFC 6901) in `source.pointer`, where Cloudflare puts it. Unknown routes are
 *   Cloudflare's 7000 "No route for that URI".
 * - Messages are `{code: 1000, message}`: warnings (fields stored but not active, our extensions
 *   left out of Cloudflare's shape, fields ignored on input).
 * - Failures carry `x-should-retry: false` below 500: the SDK retries 409 (and 408, 429) by
 *   default, and a refusal of ours is as final as a 400.
 * - Lists page with `page` (from 1) and `per_page` (1 to MAX_PER_PAGE, default MAX_PER_PAGE so
 *   that the SDK, which asks for one page only, gets everything), answered in `result_info:
 *   {page, per_page, count, total_count, total_pages}`.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { ErrorCode, fromZod, type ApiError } from '../../core/config/index.ts';

/** Code of every warning in `messages`. */
export const NOTICE_CODE = 1000;
/** Cloudflare's code for a path it has no route for. */
export const NO_ROUTE_CODE = 7000;
/** Largest page (`per_page`); also the default. */
export const MAX_PER_PAGE = 1000;

export interface CfError {
  code: number;
  message: string;
  source?: { pointer: string };
}
export interface CfMessage {
  code: number;
  message: string;
}
export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
  total_pages: number;
}

/** A field path of ours ("origins[0].address") as a JSON Pointer ("/origins/0/address"). */
export function pointerOf(path: string): string {
  const parts = path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter(Boolean);
  return parts.map((p) => '/' + p.replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

const cfError = (e: ApiError): CfError =>
  e.path === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, source: { pointer: pointerOf(e.path) } };
const notices = (messages: readonly string[]): CfMessage[] => messages.map((message) => ({ code: NOTICE_CODE, message }));

/** A successful answer (always 200, as Cloudflare answers creates too). */
export function cfOk(c: Context, result: unknown, messages: readonly string[] = [], resultInfo?: ResultInfo) {
  const body = { success: true, errors: [] as CfError[], messages: notices(messages), result };
  return c.json(resultInfo ? { ...body, result_info: resultInfo } : body, 200);
}

export type CfFailureStatus = 400 | 404 | 409 | 412 | 500;

/** A failed answer: one error per problem, `result` null. */
export function cfFail(c: Context, status: CfFailureStatus, errors: readonly ApiError[]) {
  if (status < 500) c.header('x-should-retry', 'false');
  return c.json({ success: false, errors: errors.map(cfError), messages: [] as CfMessage[], result: null }, status);
}

/** The answer to a path under /client/v4 that we do not serve. */
export function noRoute(c: Context) {
  return cfFail(c, 404 as CfFailureStatus, [{ code: NO_ROUTE_CODE, message: `No route for that URI: ${c.req.method} ${c.req.path}` }]);
}

/** Paging query of every list; `monitor` filters pools (the SDK's PoolListParams). Unknown parameters are ignored, as Cloudflare does. */
export const ListQuery = z.object({
  page: z.coerce.number<string>().int().min(1).default(1),
  per_page: z.coerce.number<string>().int().min(1).max(MAX_PER_PAGE).default(MAX_PER_PAGE),
  monitor: z.string().max(64).optional(),
});
export type ListQuery = z.output<typeof ListQuery>;

/** The query of a list request, or the 400 naming each bad parameter. */
export function listQuery(c: Context): { ok: true; value: ListQuery } | { ok: false; errors: ApiError[] } {
  const parsed = ListQuery.safeParse(c.req.query());
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, errors: fromZod(parsed.error) };
}

/** One page of `items` and its result_info. */
export function pageOf<T>(items: readonly T[], { page, per_page }: ListQuery): { items: T[]; info: ResultInfo } {
  const slice = items.slice((page - 1) * per_page, page * per_page);
  return { items: slice, info: { page, per_page, count: slice.length, total_count: items.length, total_pages: Math.ceil(items.length / per_page) } };
}

/** The error for a body that is not an object (Cloudflare's bodies all are). */
export const NOT_AN_OBJECT: ApiError = { code: ErrorCode.invalid, path: '', message: 'the body must be a JSON object' };
