/**
 * The candidate index of an AclSet (core/acl/index.ts): each entry's match mapped to a necessary
 * condition in the terms of load balancing rules (core/rules requirement.ts `Requirement`), and a
 * core/rules `RuleIndex` over them, built once per config version. So ACLs and rules share one
 * index: exact Maps, prefix and needle tries, suffixes by length, subnets by prefix length.
 *
 * The mapping, for an entry that is not inverted (an inverted one, or one with neither filter nor
 * subnet, has none: always a candidate):
 * - `host` → the lower-cased hostnames as exact values of `http.host` (a request's host is
 *   lower case: WHATWG URL serialisation, lower-cased load balancer names in the explainer);
 * - `http_header_match` → exact values of the header's first element,
 *   `http.request.headers["name"][0]` (what `holds` compares);
 * - `path_begin` / `path_end` → prefixes / suffixes of `http.request.uri.path`;
 * - `regex` → the union of core/rules/regex.ts `regexRequirement` over its patterns (exact
 *   values, literal prefix or needle: the prefilters compileRegex itself applies); none when one
 *   pattern has none;
 * - otherwise `ip_subnet` (CIDR blocks: the schema refuses ranges) → those ranges on `ip.src`
 *   (a filter's requirement goes first: a path or header usually narrows more than a client's
 *   subnet, which many requests share).
 */
import { prefixLength } from '../rules/ip-index.ts';
import type { IpRange } from '../rules/ip.ts';
import { regexRequirement } from '../rules/regex.ts';
import { mapKey, prefixOf, rangesOf, suffixOf, unionOf, valuesOf, type Requirement } from '../rules/requirement.ts';
import { RuleIndex } from '../rules/rule-index.ts';
import type { HttpFilter } from './schema.ts';

/** What the index reads of a compiled entry (core/acl/index.ts CompiledAcl). */
export interface IndexableEntry {
  readonly filter: HttpFilter;
  /** Lower-case hostnames, header values, path prefixes or suffixes, or regexes (per `filter`). */
  readonly values: readonly string[];
  /** http_header_match's header name, lower case. */
  readonly header: string;
  readonly ranges: readonly IpRange[];
  readonly invert: boolean;
}

const PATH = 'http.request.uri.path';

/** The necessary condition of `e`'s match (see the module doc), or undefined when it has none. */
export function requirementOf(e: IndexableEntry): Requirement | undefined {
  if (e.invert) return undefined;
  const filter = filterRequirement(e);
  if (filter) return filter;
  return e.ranges.length && e.ranges.every((r) => prefixLength(r) >= 0) ? rangesOf('ip.src', e.ranges) : undefined;
}

function filterRequirement(e: IndexableEntry): Requirement | undefined {
  switch (e.filter) {
    case 'host':
      return valuesOf('http.host', e.values);
    case 'http_header_match':
      return valuesOf(`${mapKey('http.request.headers', e.header)!}[0]`, e.values);
    case 'path_begin':
      return unionOf(e.values.map((v) => prefixOf(PATH, v)));
    case 'path_end':
      return unionOf(e.values.map((v) => suffixOf(PATH, v)));
    case 'regex':
      return unionOf(e.values.map((v) => regexRequirement(PATH, v)));
    case 'acl_http_filter_none':
      return undefined;
  }
}

/** The candidate index of `entries` (in evaluation order: rank = array index). */
export function aclIndex(entries: readonly IndexableEntry[]): RuleIndex {
  return new RuleIndex(entries.map(requirementOf));
}
