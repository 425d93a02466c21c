/**
 * The fields a load balancing rule may read, with their Rules language types, and the typed values
 * the compiler passes around.
 *
 * Fields: Cloudflare's "Supported fields and operators" for load balancing rules (proxied and both
 * sets), plus `ip.src.country`/`ip.src.continent` (and their deprecated `ip.geoip.*` names),
 * `http.user_agent`, `http.request.cookies` and `cf.colo.name` from the Rules language field
 * reference. A missing value (an absent header, an unknown country) makes every comparison on it
 * false ("missing value" behaviour in Cloudflare's "Values" reference).
 */
import type { RuleRequest } from './request.ts';

/** Element types: Bytes/String, Integer, IP address, Boolean. */
export type Elem = 'str' | 'int' | 'ip' | 'bool';
/**
 * `one`: a single value (undefined when missing); `array`: an array (undefined when missing);
 * `each`: an array unpacked with `[*]`, which functions and comparisons apply to element by
 * element (allowed only in a function's first argument, as in Cloudflare's "Arrays" section).
 */
export type Shape = 'one' | 'array' | 'each';
/** Reads a value from a request view: `T | undefined` for `one`, `T[] | undefined` otherwise. */
export type Getter = (r: RuleRequest) => unknown;

/** A compiled sub-expression with its type. */
export interface Val {
  readonly elem: Elem;
  readonly shape: Shape;
  readonly get: Getter;
  /** Where it starts in the expression (for errors). */
  readonly at: number;
  /** Set for literals ("…", 42): their value. Functions refuse literals as their source argument. */
  readonly literal?: string | number;
  /** Set when the value is one an index can read (requirement.ts `fieldReader`): its field key. */
  readonly key?: string | undefined;
  /** Set for a comparison over a `[*]`-unpacked array: the array and the element test, so that
   * any()/all() test elements without building the array of Booleans. */
  readonly each?: { readonly get: Getter; readonly test: (v: unknown) => boolean };
}

const ELEM_NAMES: Record<Elem, string> = { str: 'String', int: 'Integer', ip: 'IP address', bool: 'Boolean' };

/** A type as Cloudflare's documentation writes it: `String`, `Array<Boolean>`. */
export function typeName(v: Pick<Val, 'elem' | 'shape'>): string {
  return v.shape === 'one' ? ELEM_NAMES[v.elem] : `Array<${ELEM_NAMES[v.elem]}>`;
}

/** A field: a value, or a map (`Map<Array<String>>`) read with a string key. */
export type FieldDef =
  | { readonly kind: 'value'; readonly elem: Elem; readonly shape: 'one' | 'array'; readonly get: Getter }
  | { readonly kind: 'map'; readonly get: (key: string) => Getter };

const one = (elem: Elem, get: Getter): FieldDef => ({ kind: 'value', elem, shape: 'one', get });
const strs = (get: Getter): FieldDef => ({ kind: 'value', elem: 'str', shape: 'array', get });
const map = (get: (key: string) => Getter): FieldDef => ({ kind: 'map', get });

export const FIELDS: ReadonlyMap<string, FieldDef> = new Map([
  ['http.host', one('str', (r) => r.host)],
  ['http.request.uri', one('str', (r) => r.uri)],
  ['http.request.uri.path', one('str', (r) => r.path)],
  ['http.request.uri.query', one('str', (r) => r.query)],
  ['http.request.full_uri', one('str', (r) => r.fullUri)],
  ['http.request.method', one('str', (r) => r.method)],
  ['http.request.headers', map((k) => (r) => r.header(k))],
  ['http.request.headers.names', strs((r) => r.headerNames)],
  ['http.request.headers.values', strs((r) => r.headerValues)],
  ['http.request.uri.args', map((k) => (r) => r.arg(k))],
  ['http.request.uri.args.names', strs((r) => r.argNames)],
  ['http.request.uri.args.values', strs((r) => r.argValues)],
  ['http.request.cookies', map((k) => (r) => r.cookies(k))],
  ['http.cookie', one('str', (r) => r.cookie)],
  ['http.user_agent', one('str', (r) => r.userAgent)],
  ['http.referer', one('str', (r) => r.referer)],
  ['ssl', one('bool', (r) => r.ssl)],
  ['ip.src', one('ip', (r) => r.ip)],
  ['ip.src.country', one('str', (r) => r.country)],
  ['ip.src.continent', one('str', (r) => r.continent)],
  ['ip.geoip.country', one('str', (r) => r.country)],
  ['ip.geoip.continent', one('str', (r) => r.continent)],
  ['cf.colo.name', one('str', (r) => r.colo)],
  ['cf.load_balancer.name', one('str', (r) => r.loadBalancer)],
  ['cf.load_balancer.region', one('str', (r) => r.region)],
]);
