/**
 * Requirements: a necessary condition of a whole rule condition, found while it is compiled, that
 * lets core/route/rule-index.ts skip rules that cannot match without calling their predicates.
 *
 * A requirement `{ field, values, prefixes }` says: whenever the condition is true, the field's value
 * (read by the field's own getter, so with exactly the normalisation the comparison sees, and none
 * added: `http.host eq "A"` requires "A", which a request's lower-case host never is) is a string
 * that is one of `values` or starts with one of `prefixes`. It is derived by these rules only
 * (anything else has none, and a rule without one is evaluated on every request):
 * - `F eq "v"` → {v}; `F in {"a" "b"}` → {a, b}; `starts_with(F, "p")` → prefix p (F a bare field below);
 * - `A and B` → the more selective of A's and B's (see `bestOf`);
 * - `A or B` → the union when A and B both have one on the same field, else none;
 * - `not`, `xor`, `ne`, ordering operators, `contains`, `matches`, wildcards, functions applied to
 *   the field (`lower(http.host) eq "x"`), arrays and `any()`/`all()`: none.
 * Soundness: `eq`/`in` on a missing value are false (compare.ts), as is `starts_with`
 * (functions.ts), so a request whose field is missing needs none of these rules either.
 */
import { FIELDS, type Val } from './fields.ts';
import type { RuleRequest } from './request.ts';

/** Whenever the condition holds, `field`'s value is in `values` or starts with one of `prefixes`. */
export interface Requirement {
  /** The field's canonical name (`ip.geoip.country` is `ip.src.country`). */
  readonly field: string;
  /** Exact values, without duplicates. */
  readonly values: readonly string[];
  /** Prefixes, without duplicates. */
  readonly prefixes: readonly string[];
}

/** A compiled sub-expression with the requirement found so far (Booleans only). */
export type Cond = Val & { readonly req?: Requirement | undefined };

/** Indexable fields: single-valued Strings, by name → canonical name. */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ['http.host', 'http.host'],
  ['http.request.method', 'http.request.method'],
  ['http.request.uri', 'http.request.uri'],
  ['http.request.uri.path', 'http.request.uri.path'],
  ['http.request.uri.query', 'http.request.uri.query'],
  ['ip.src.country', 'ip.src.country'],
  ['ip.geoip.country', 'ip.src.country'],
  ['ip.src.continent', 'ip.src.continent'],
  ['ip.geoip.continent', 'ip.src.continent'],
  ['cf.colo.name', 'cf.colo.name'],
  ['cf.load_balancer.region', 'cf.load_balancer.region'],
]);

/** Fields with few distinct values: an exact requirement on one is less selective than a prefix. */
const FEW_VALUES = new Set(['http.request.method', 'ip.src.continent', 'cf.load_balancer.region']);

/** The canonical name of an indexable field, or undefined when `name` is not one. */
export function indexedField(name: string): string | undefined {
  return ALIASES.get(name);
}

/** Reads an indexable field (canonical name) from a request view: the getter comparisons use. Throws on any other name. */
export function fieldReader(field: string): (r: RuleRequest) => string | undefined {
  const def = FIELDS.get(field);
  if (!def || def.kind !== 'value' || ALIASES.get(field) !== field) throw new Error(`${field} is not an indexable field`);
  return def.get as (r: RuleRequest) => string | undefined;
}

export const valuesOf = (field: string, values: Iterable<string>): Requirement => ({ field, values: [...new Set(values)], prefixes: [] });
export const prefixOf = (field: string, prefix: string): Requirement => ({ field, values: [], prefixes: [prefix] });

/** How selective a requirement looks, lower first: exact values on a many-valued field, then prefixes, then the rest; then fewer entries. */
function cost(r: Requirement): number {
  const entries = r.values.length + r.prefixes.length;
  const kind = r.prefixes.includes('') ? 3 : FEW_VALUES.has(r.field) ? 2 : r.prefixes.length ? 1 : 0;
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
  return { field: first.field, values: [...new Set(all.flatMap((r) => r.values))], prefixes: [...new Set(all.flatMap((r) => r.prefixes))] };
}
