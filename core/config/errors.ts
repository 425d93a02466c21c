/**
 * Error values of the config model, in the shape of Cloudflare's v4 envelope `errors[]`
 * (`{code, message}`), plus `path`: the dotted field path the error is about ("" = the whole body).
 */
import type { z } from 'zod';

export interface ApiError {
  code: number;
  message: string;
  path?: string;
}

/** Error codes (ours; Cloudflare's numbering is not public for these cases). */
export const ErrorCode = {
  invalid: 1001,
  unknownReference: 1002,
  conflict: 1003,
  notFound: 1004,
  preconditionFailed: 1005,
  unauthorized: 1006,
  notAdminHost: 1007,
  forbidden: 1008,
} as const;

/** The outcome of a config operation: a value, or an HTTP status with the errors that explain it. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; status: 400 | 404 | 409 | 412; errors: ApiError[] };

export const fail = (status: 400 | 404 | 409 | 412, errors: ApiError[]): Outcome<never> => ({ ok: false, status, errors });

export function fieldError(code: number, path: (string | number)[] | string, reason: string): ApiError {
  const p = typeof path === 'string' ? path : joinPath(path);
  return { code, path: p, message: p ? `${p}: ${reason}` : reason };
}

export function joinPath(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('');
}

/**
 * Turns a zod error into one ApiError per problem, each naming its field. An unknown key becomes
 * one error per key ("pools[0].colour: unknown field").
 */
export function fromZod(error: z.ZodError, prefix: (string | number)[] = []): ApiError[] {
  return error.issues.flatMap((issue) => {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => fieldError(ErrorCode.invalid, [...path, key], 'unknown field'));
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      return [fieldError(ErrorCode.invalid, path, 'is required')];
    }
    return [fieldError(ErrorCode.invalid, path, issue.message)];
  });
}
