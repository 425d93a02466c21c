/**
 * Access control lists (our extension, after Scaleway Load Balancer's ACLs and HAProxy's
 * `http-request allow|deny|redirect if|unless`), applied to one request before load balancing
 * rules and steering.
 *
 * - Entries run by `index`, lower first; the first entry whose match holds decides, later ones
 *   are not evaluated. No entry matching: the request goes on (allowed).
 * - An entry's match holds when the client's address is in one of `ip_subnet` (empty: any
 *   client; unknown address: none) AND its HTTP filter holds (any one of `http_filter_value`):
 *   `path_begin` / `path_end` on the path (without query, not decoded), `regex` (re2js, linear
 *   time, unanchored) on the path, `http_header_match` on the value of the header named
 *   `http_filter_option` (exact; repeated headers are seen joined by ", "), `host` on the
 *   request's hostname (case-insensitive). `invert` negates the whole match.
 * - Actions: `allow` (route as usual), `deny` (a 403 of ours), `redirect` (its code and Location).
 *
 * An AclSet is compiled once per config version (core/route compileSnapshot), with a candidate
 * index (core/acl/candidates.ts): each entry's match is mapped to one necessary condition in the
 * terms of load balancing rules (its hostnames, its header's values, its path prefixes or
 * suffixes, its regexes' exact values, literal prefix or needle, else its client subnets), and
 * the rules' index (core/rules/rule-index.ts) is built over them; inverted entries, regexes
 * without a literal and entries with neither filter nor subnet are always candidates. A request
 * looks itself up once per indexed field and runs the full match of the candidates alone, in
 * evaluation order, over the request view load balancing rules also read (core/rules
 * RuleRequest), so the answer is the linear scan's (`evaluateLinear`, the tested reference).
 * Cost: the lookups plus the full match of each candidate (~20 ns, a regex ~35 ns), in place of
 * the full match of every entry; BENCHMARKS.md ("decisions") has the figures.
 */
import { ipSet, parseIpElement, type IpAddress, type IpRange } from '../rules/ip.ts';
import { nextRank } from '../rules/ranks.ts';
import { compileRegex } from '../rules/regex.ts';
import type { RuleRequest } from '../rules/request.ts';
import type { RuleIndex } from '../rules/rule-index.ts';
import { aclIndex, type IndexableEntry } from './candidates.ts';
import { AclSchema, type Acl } from './schema.ts';

export { AclListSchema, AclSchema, ACL_LIMITS, HTTP_FILTERS, type Acl, type HttpFilter } from './schema.ts';

/** The entry that decided a request, as the proxy acts on it and the routing explainer reports it. */
export interface AclMatch {
  /** Position in the load balancer's `acls`. */
  readonly position: number;
  readonly index: number;
  readonly name: string;
  readonly action: Acl['action'];
}

/** An entry as evaluated: `filter`, `values` (path prefixes or suffixes, lower-cased hostnames or
 * header values), `header`, `ranges` and `invert` come from IndexableEntry. */
interface CompiledAcl extends IndexableEntry {
  readonly position: number;
  readonly acl: Acl;
  /** Client subnets (`ranges`) as a test; undefined: any client. */
  readonly ip: ((ip: IpAddress) => boolean) | undefined;
  readonly regexes: readonly ((s: string) => boolean)[];
}

/** A load balancer's ACL entries in evaluation order, their matches compiled once. */
export class AclSet {
  /** Valid entries, by index. */
  readonly entries: readonly CompiledAcl[];
  /** Entries of a stored document that do not validate now: never match (position and message). */
  readonly broken: readonly { position: number; message: string }[];
  readonly #index: RuleIndex;
  /**
   * How many entries' full match the last `evaluate` (or `evaluateLinear`) call ran, the deciding
   * one included: the candidates up to the decision, not every entry (the routing explainer's
   * `acl.evaluated`). Calls are synchronous: read it right after the call it describes.
   */
  lastEvaluated = 0;

  /** `acls` as stored (each is validated again here, once per config version). */
  constructor(acls: readonly unknown[]) {
    const entries: CompiledAcl[] = [];
    const broken: { position: number; message: string }[] = [];
    acls.forEach((raw, position) => {
      const parsed = AclSchema.safeParse(raw);
      if (!parsed.success) broken.push({ position, message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      else entries.push(compile(position, parsed.data));
    });
    entries.sort((a, b) => a.acl.index - b.acl.index || a.position - b.position);
    this.entries = entries;
    this.broken = broken;
    this.#index = aclIndex(entries);
  }

  /**
   * The first entry (by index) whose match holds for `request`; undefined when none does. Runs
   * the full match of the index's candidates only, in evaluation order (see the module doc).
   */
  evaluate(request: RuleRequest): AclMatch | undefined {
    const bits = this.#index.candidates(request);
    let n = 0;
    for (let r = nextRank(bits, 0); r >= 0; r = nextRank(bits, r + 1)) {
      const e = this.entries[r]!;
      n++;
      if (holds(e, request)) return ((this.lastEvaluated = n), matchOf(e));
    }
    this.lastEvaluated = n;
    return undefined;
  }

  /** The same answer by the full match of every entry in order, without the index: the reference the index is tested against. */
  evaluateLinear(request: RuleRequest): AclMatch | undefined {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) if (holds(entries[i]!, request)) return ((this.lastEvaluated = i + 1), matchOf(entries[i]!));
    this.lastEvaluated = entries.length;
    return undefined;
  }
}

/** Whether `e`'s match (subnets and HTTP filter, then `invert`) holds for `request`. */
function holds(e: CompiledAcl, request: RuleRequest): boolean {
  let hit = true;
  if (e.ip) {
    const ip = request.ip;
    hit = ip !== undefined && e.ip(ip);
  }
  if (hit && e.filter !== 'acl_http_filter_none') {
    if (e.filter === 'http_header_match') hit = includes(e.values, request.header(e.header)?.[0]);
    // both lower case (candidates.ts)
    else if (e.filter === 'host') hit = includes(e.values, request.host);
    else hit = pathMatches(e, request.path);
  }
  return hit !== e.invert;
}

function matchOf(e: CompiledAcl): AclMatch {
  return { position: e.position, index: e.acl.index, name: e.acl.name, action: e.acl.action };
}

function compile(position: number, acl: Acl): CompiledAcl {
  const m = acl.match;
  const ranges = m.ip_subnet.map((s) => parseIpElement(s, true) as IpRange);
  return {
    position,
    acl,
    ip: ranges.length ? ipSet(ranges) : undefined,
    ranges,
    filter: m.http_filter,
    values: m.http_filter === 'host' ? m.http_filter_value.map((v) => v.toLowerCase()) : m.http_filter_value,
    regexes: m.http_filter === 'regex' ? m.http_filter_value.map((v) => compileRegex(v) as (s: string) => boolean) : [],
    header: m.http_filter_option?.toLowerCase() ?? '',
    invert: m.invert,
  };
}

function includes(values: readonly string[], v: string | undefined): boolean {
  if (v === undefined) return false;
  for (let i = 0; i < values.length; i++) if (values[i] === v) return true;
  return false;
}

function pathMatches(e: CompiledAcl, path: string): boolean {
  const { values } = e;
  if (e.filter === 'path_begin') {
    for (let i = 0; i < values.length; i++) if (path.startsWith(values[i]!)) return true;
  } else if (e.filter === 'path_end') {
    for (let i = 0; i < values.length; i++) if (path.endsWith(values[i]!)) return true;
  } else {
    for (const t of e.regexes) if (t(path)) return true;
  }
  return false;
}
