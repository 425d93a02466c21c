/**
 * Requirements: a necessary condition of a whole rule condition, found while it is compiled, that
 * lets rule-index.ts skip rules (and ACL entries, core/acl/candidates.ts) that cannot match
 * without calling their predicates.
 *
 * A requirement `{ field, values, prefixes, suffixes, needles, ranges }` says: whenever the
 * condition is true, the value `field` names (read by `fieldReader(field)`: the getter the
 * comparison itself uses, so with exactly its normalisation and none added: `http.host eq "A"`
 * requires "A", which a request's lower-case host never is) is present and is one of `values`, or
 * starts with one of `prefixes`, or ends with one of `suffixes`, or contains one of `needles`, or
 * (an address) lies in one of `ranges`. Field keys:
 * - a field by canonical name (`http.host`; `ip.geoip.country` is `ip.src.country`; `ip.src`);
 * - a map element: `http.request.headers["x-a"][0]` (the key as JSON, then the index), also
 *   for `http.request.cookies` and `http.request.uri.args`;
 * - `lower(K)` / `upper(K)` of a key K: the case-mapped value (functions.ts, one memo per key).
 * It is derived by these rules only (anything else has none, and a rule without one runs on
 * every request):
 * - `K eq "v"` → {v}; `K in {"a" "b"}` → {a, b}; `starts_with(K, "p")` → prefix p;
 *   `ends_with(K, "s")` → suffix s; `K contains "n"` → needle n ("" → prefix "": K present);
 * - `K matches "re"` (regex.ts `regexRequirement`): a fully anchored alternation of literals
 *   (`^(1|true)$`) → those values; else `^` then literal text → that prefix; else literal text
 *   any match starts with → that needle (the prefilter compileRegex runs before the engine);
 * - `ip.src eq A` → A; `ip.src in {…}` → its ranges when every one is a CIDR block;
 * - `A and B` → the more selective of A's and B's (see `bestOf`);
 * - `A or B` → the union when A and B both have one on the same field, else none;
 * - `not`, `xor`, `ne`, ordering and wildcard operators, `len()`, `[*]` with any()/all(): none.
 * Soundness: every comparison and function on a missing value is false (compare.ts,
 * functions.ts), so a request whose value is missing needs none of these rules either.
 */
import { FIELDS, type Val } from './fields.ts';
import { caseMapper } from './functions.ts';
import type { IpRange } from './ip.ts';
import type { RuleRequest } from './request.ts';

/** Whenever the condition holds, `field`'s value is in `values`, starts with a prefix, ends with a suffix, contains a needle or is in a range. */
export interface Requirement {
  /** A field key (see the module doc). */
  readonly field: string;
  /** Exact values, without duplicates. */
  readonly values: readonly string[];
  /** Prefixes, without duplicates. */
  readonly prefixes: readonly string[];
  /** Suffixes (never ""), without duplicates. */
  readonly suffixes: readonly string[];
  /** Substrings, without duplicates. */
  readonly needles: readonly string[];
  /** Address ranges, all CIDR blocks (`ip.src` only). */
  readonly ranges: readonly IpRange[];
}

/** A compiled sub-expression with the requirement found so far (Booleans only). */
export type Cond = Val & { readonly req?: Requirement | undefined };

/** Indexable fields: single values read as is, by name → canonical name. */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ['http.host', 'http.host'],
  ['http.request.method', 'http.request.method'],
  ['http.request.uri', 'http.request.uri'],
  ['http.request.uri.path', 'http.request.uri.path'],
  ['http.request.uri.query', 'http.request.uri.query'],
  ['http.user_agent', 'http.user_agent'],
  ['http.cookie', 'http.cookie'],
  ['http.referer', 'http.referer'],
  ['ip.src', 'ip.src'],
  ['ip.src.country', 'ip.src.country'],
  ['ip.geoip.country', 'ip.src.country'],
  ['ip.src.continent', 'ip.src.continent'],
  ['ip.geoip.continent', 'ip.src.continent'],
  ['cf.colo.name', 'cf.colo.name'],
  ['cf.load_balancer.region', 'cf.load_balancer.region'],
]);
/** Map fields whose elements (`[i]`) are indexable. */
const MAPS = new Set(['http.request.headers', 'http.request.cookies', 'http.request.uri.args']);

/** Fields with few distinct values: an exact requirement on one is less selective than a prefix. */
const FEW_VALUES = new Set(['http.request.method', 'ip.src.continent', 'cf.load_balancer.region']);

/** The canonical name of an indexable field, or undefined when `name` is not one. */
export function indexedField(name: string): string | undefined {
  return ALIASES.get(name);
}

/** The key of a map's element (`http.request.headers["x-a"]` then `[0]`): the map's part, or undefined for another map. */
export function mapKey(map: string, key: string): string | undefined {
  return MAPS.has(map) ? `${map}[${JSON.stringify(key)}]` : undefined;
}

const CASE = /^(lower|upper)\((.+)\)$/;
const ELEMENT = /^([a-z._]+)\[(".*")\]\[(\d+)\]$/;

/**
 * Reads the value a field key names from a request view: the getter comparisons use (a string,
 * an IpAddress for `ip.src`, undefined when missing). Throws on a key that names no indexable value.
 */
export function fieldReader(field: string): (r: RuleRequest) => unknown {
  const fn = CASE.exec(field);
  if (fn) {
    const inner = fieldReader(fn[2]!) as (r: RuleRequest) => string | undefined;
    const map = caseMapper(fn[1] === 'upper', fn[2]!);
    return (r) => {
      const v = inner(r);
      return v === undefined ? undefined : map(v);
    };
  }
  const el = ELEMENT.exec(field);
  const def = FIELDS.get(el ? el[1]! : field);
  if (el && def?.kind === 'map' && MAPS.has(el[1]!)) {
    const get = def.get(JSON.parse(el[2]!) as string) as (r: RuleRequest) => readonly string[] | undefined;
    const i = Number(el[3]);
    return (r) => get(r)?.[i];
  }
  if (!el && def?.kind === 'value' && ALIASES.get(field) === field) return def.get;
  throw new Error(`${field} is not an indexable field`);
}

const NONE: readonly never[] = [];
const make = (field: string, parts: Partial<Omit<Requirement, 'field'>>): Requirement => ({
  field,
  values: parts.values ?? NONE,
  prefixes: parts.prefixes ?? NONE,
  suffixes: parts.suffixes ?? NONE,
  needles: parts.needles ?? NONE,
  ranges: parts.ranges ?? NONE,
});
export const valuesOf = (field: string, values: Iterable<string>): Requirement => make(field, { values: [...new Set(values)] });
export const prefixOf = (field: string, prefix: string): Requirement => make(field, { prefixes: [prefix] });
/** `ends_with` a suffix; the empty suffix only requires the value to be present (prefix ""). */
export const suffixOf = (field: string, suffix: string): Requirement => (suffix ? make(field, { suffixes: [suffix] }) : prefixOf(field, ''));
/** `contains` a needle; the empty needle only requires the value to be present (prefix ""). */
export const needleOf = (field: string, needle: string): Requirement => (needle ? make(field, { needles: [needle] }) : prefixOf(field, ''));
/** `ranges`: CIDR blocks only (core/rules/ip-index.ts `prefixLength` ≥ 0); the rule index throws on another range. */
export const rangesOf = (field: string, ranges: readonly IpRange[]): Requirement => make(field, { ranges });

/**
 * How selective and cheap a requirement looks, lower first: exact values on a many-valued field
 * or subnets, then prefixes or suffixes (a trie walk; a slice and lookup per distinct length),
 * then exact values on a few-valued field, then needles (a substring search each), then
 * "present"; within a kind, fewer entries. A union costs as its worst part.
 */
function cost(r: Requirement): number {
  const entries = r.values.length + r.prefixes.length + r.suffixes.length + r.needles.length + r.ranges.length;
  let kind = r.prefixes.length || r.suffixes.length ? 1 : 0;
  if (r.values.length && FEW_VALUES.has(r.field)) kind = 2;
  if (r.needles.length) kind = 3;
  if (r.prefixes.includes('')) kind = 4;
  return kind * 1e6 + entries;
}

/** For `A and B`: either requirement is necessary; keep the more selective (the first on a tie). */
export function bestOf(reqs: readonly (Requirement | undefined)[]): Requirement | undefined {
  let best: Requirement | undefined;
  for (const r of reqs) if (r && (!best || cost(r) < cost(best))) best = r;
  return best;
}

/** For `A or B`: the union when every operand has a requirement on the same field, else none. */
export function unionOf(reqs: readonly (Requirement | undefined)[]): Requirement | undefined {
  const first = reqs[0];
  if (!first || reqs.some((r) => r?.field !== first.field)) return undefined;
  const all = reqs as readonly Requirement[];
  const union = <T>(part: (r: Requirement) => readonly T[]) => [...new Set(all.flatMap(part))];
  return make(first.field, {
    values: union((r) => r.values),
    prefixes: union((r) => r.prefixes),
    suffixes: union((r) => r.suffixes),
    needles: union((r) => r.needles),
    ranges: union((r) => r.ranges),
  });
}
