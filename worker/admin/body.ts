/**
 * Request bodies of the admin API, checked before anything acts on them (hostile input). Every
 * route that takes a body runs `jsonBody(limit)` as its route middleware, before its validators:
 *
 * - **Size**: `PUT /config` up to CONFIG_BODY_LIMIT (2 MiB: a whole configuration with pools of
 *   thousands of origins), every other body up to BODY_LIMIT (256 KiB: one resource, a pool of
 *   ~2,000 origins); larger → 413. hono/body-limit judges by Content-Length when there is one and
 *   counts the bytes as they are read otherwise, so a body is never buffered past its limit.
 * - **Type**: Content-Type must be JSON (`application/json` or `application/*+json`, as
 *   @hono/zod-openapi's media-type check accepts it), else 415.
 * - **Nesting**: at most MAX_JSON_DEPTH (64) levels of arrays and objects, counted on the raw text
 *   before JSON.parse (string contents and escapes skipped), else 400 naming the limit: nothing
 *   recursive downstream (validation, merge patch, RPC cloning) ever meets a value deeper than that.
 * - **Syntax**: JSON.parse's own message → 400. The route validator then parses the same cached
 *   text again (hono keeps the text, not the value): twice ≤ 16 MiB, accepted for an admin write.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ErrorCode } from '../../core/config/index.ts';
import { failure, type AdminEnv } from './envelope.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;
/** Largest body of `PUT /config` (a whole configuration). */
export const CONFIG_BODY_LIMIT = 16 * MiB;
/** Largest body of every other route (one resource, a patch, a preview). */
export const BODY_LIMIT = 256 * KiB;
/** Deepest nesting of arrays and objects accepted in a body. */
export const MAX_JSON_DEPTH = 64;

/** @hono/zod-openapi's test of a JSON Content-Type (media type and parameters), so both agree. */
const JSON_CONTENT_TYPE = /^application\/([a-z.-]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/**
 * Whether `text` nests arrays and objects deeper than `limit` levels. Brackets inside strings
 * (escapes included) do not count; syntax is not checked (JSON.parse does that next).
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c /* \ */)
        i++; // the escaped character, whatever it is, is not a quote
      else if (ch === 0x22 /* " */) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      if (++depth > limit) return true;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) depth--;
  }
  return false;
}

const readJson: MiddlewareHandler<AdminEnv> = async (c, next) => {
  if (!JSON_CONTENT_TYPE.test(c.req.header('content-type') ?? '')) {
    return failure(c, 415, [{ code: ErrorCode.invalid, message: 'the body must be JSON (Content-Type: application/json)' }]);
  }
  const text = await c.req.text();
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    return failure(c, 400, [
      { code: ErrorCode.invalid, path: '', message: `the body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep (the limit)` },
    ]);
  }
  try {
    JSON.parse(text);
  } catch (e) {
    return failure(c, 400, [{ code: ErrorCode.invalid, path: '', message: `the body is not valid JSON: ${(e as Error).message}` }]);
  }
  await next();
};

/** The route middleware of a route with a JSON body of at most `maxSize` bytes (see the module doc). */
export function jsonBody(maxSize: number): MiddlewareHandler<AdminEnv>[] {
  const tooLarge = bodyLimit({
    maxSize,
    onError: (c) => failure(c, 413, [{ code: ErrorCode.invalid, message: `the body is larger than ${maxSize / KiB} KiB (the limit of this route)` }]),
  });
  return [tooLarge, readJson];
}
