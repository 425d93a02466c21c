/**
 * What dns/cloudflare's providers share: the SDK client, made the one way both use it, and the
 * mapping of whatever it throws to a ProviderError that cannot carry the token.
 */
import { APIConnectionError, APIError } from 'cloudflare/core/error';
import { BaseRecords } from 'cloudflare/resources/dns/records';
import { createClient } from 'cloudflare/tree-shakable';
import { ProviderError } from '../provider.ts';

/** Cloudflare's error codes for a missing, malformed or refused credential. */
const AUTH_CODES: ReadonlySet<number> = new Set([9106, 9109, 10000]);

/** How a client reaches the API. */
export interface ClientOptions {
  apiToken: string;
  baseURL?: string;
  fetch?: typeof fetch;
  /** Per request (ms), default 30,000. */
  timeoutMs?: number;
}

/**
 * The tree-shakable client with DNS records only: no retries (the caller decides, honouring
 * retry-after), and explicit nulls so the SDK reads no credentials from the environment.
 */
export function dnsClient(options: ClientOptions) {
  return createClient({
    resources: [BaseRecords],
    apiToken: options.apiToken,
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: options.baseURL ?? 'https://api.cloudflare.com/client/v4',
    ...(options.fetch && { fetch: options.fetch }),
    maxRetries: 0,
    timeout: options.timeoutMs ?? 30_000,
    logLevel: 'off',
  });
}

/** Milliseconds to wait from a `retry-after` value (delay-seconds or HTTP-date, RFC 9110 §10.2.3) at `now` (epoch ms); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Maps anything the SDK throws while doing `what` to a ProviderError whose message cannot contain
 * `apiToken`: 401/403 and Cloudflare's credential codes → auth, 429 → rate_limited (with
 * retryAfterMs), 5xx and transport failures → unreachable, other 4xx → invalid.
 */
export function providerError(e: unknown, what: string, apiToken: string, now: number): ProviderError {
  if (e instanceof ProviderError) return e;
  const scrub = (s: string) => (apiToken ? s.split(apiToken).join('[token]') : s);
  if (e instanceof APIError && !(e instanceof APIConnectionError) && e.status !== undefined) {
    const errors = (e.errors as { code?: number; message?: string }[]).map((x) => `${x.code ?? '?'}: ${x.message ?? ''}`).join('; ');
    const message = scrub(`${what}: Cloudflare answered ${e.status}${errors ? ` (${errors})` : ''}`);
    if (e.status === 401 || e.status === 403 || (e.status < 500 && e.errors.some((x: { code?: number }) => AUTH_CODES.has(x.code ?? 0))))
      return new ProviderError('auth', message);
    if (e.status === 429) return new ProviderError('rate_limited', message, retryAfterMs(e.headers?.get('retry-after'), now));
    if (e.status >= 500) return new ProviderError('unreachable', message);
    return new ProviderError('invalid', message);
  }
  return new ProviderError('unreachable', scrub(`${what}: ${e instanceof Error ? e.message : String(e)}`));
}
