/**
 * Comparison operators (Cloudflare's "Operators and grouping symbols" reference), by type:
 * - String: `eq`/`==`, `ne`/`!=`, `lt`/`<`, `le`/`<=`, `gt`/`>`, `ge`/`>=`, `contains`,
 *   `matches`/`~`, `wildcard`, `strict wildcard`, `in {"a" "b"}`. Comparisons are case sensitive;
 *   the ordering operators compare UTF-16 code units where Cloudflare compares UTF-8 bytes (the
 *   same order except between astral characters and U+E000–U+FFFF).
 * - Integer (from `len()`): `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `in {1 2 10..20}`.
 * - IP address: `eq`, `ne` with an address, `in {…}` with addresses, CIDRs and `a..b` ranges.
 * - Boolean fields stand alone (`ssl`, `not ssl`).
 * A comparison on a missing value is false; on an array unpacked with `[*]` it gives an array of
 * booleans for `any()`/`all()`.
 * A comparison of a keyed value (a field read as is, a map element, lower()/upper() of one) also
 * gives a requirement (requirement.ts): `eq`/`in` the literals, `contains` the needle, `matches`
 * the regex's literals (regex.ts `regexRequirement`), an IP `eq`/`in` its CIDR blocks.
 */
import { typeName, type Elem, type Getter, type Val } from './fields.ts';
import { ipSet, parseIpElement, type IpAddress, type IpRange } from './ip.ts';
import { prefixLength } from './ip-index.ts';
import { compileRegex, compileWildcard, regexRequirement } from './regex.ts';
import { needleOf, rangesOf, valuesOf, type Cond, type Requirement } from './requirement.ts';
import type { Scanner } from './scanner.ts';

type Op = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'contains' | 'matches' | 'in' | 'wildcard' | 'strict wildcard';

const SYMBOLS: readonly [string, Op][] = [
  ['==', 'eq'],
  ['!=', 'ne'],
  ['<=', 'le'],
  ['>=', 'ge'],
  ['<', 'lt'],
  ['>', 'gt'],
  ['~', 'matches'],
];
const WORDS: readonly Op[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'contains', 'matches', 'in', 'wildcard'];
const ORDERING: readonly Op[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
const ALLOWED: Record<Elem, readonly Op[]> = {
  str: [...ORDERING, 'contains', 'matches', 'in', 'wildcard', 'strict wildcard'],
  int: [...ORDERING, 'in'],
  ip: ['eq', 'ne', 'in'],
  bool: [],
};

function readOp(s: Scanner): Op | undefined {
  for (const [symbol, op] of SYMBOLS) if (s.eat(symbol)) return op;
  if (s.eatWord('strict')) {
    if (!s.eatWord('wildcard')) s.fail('expected "wildcard" after "strict"');
    return 'strict wildcard';
  }
  return WORDS.find((w) => s.eatWord(w));
}

/** A comparison's right-hand side: a test of the left-hand value, and the literal or set when fusing applies. */
interface Rhs {
  readonly test: (v: unknown) => boolean;
  readonly eq?: string | number;
  readonly contains?: string;
  readonly set?: ReadonlySet<string>;
  /** The requirement on the compared value, given its field key. */
  readonly req?: (key: string) => Requirement | undefined;
}

/**
 * Reads an optional comparison after `lhs`; returns `lhs` itself when no operator follows. When
 * `lhs` has a field key (`Val.key`), the comparison's requirement is on it.
 */
export function comparison(s: Scanner, lhs: Val): Cond {
  const at = s.space();
  const op = readOp(s);
  if (op === undefined) return lhs;
  if (lhs.literal !== undefined) s.fail('a comparison starts with a field or a function, not a literal', lhs.at);
  if (lhs.shape === 'array') s.fail(`an ${typeName(lhs)} cannot be compared: index it ([0]) or unpack it ([*]) inside any() or all()`, at);
  if (!ALLOWED[lhs.elem].includes(op)) s.fail(`operator ${op} does not apply to ${typeName(lhs)}`, at);
  const r = rhs(s, lhs.elem, op);
  const get = lhs.get;
  if (lhs.shape === 'each') {
    const test = r.test;
    return { elem: 'bool', shape: 'array', at: lhs.at, get: (q) => (get(q) as unknown[] | undefined)?.map(test), each: { get, test } };
  }
  const req = lhs.key === undefined ? undefined : r.req?.(lhs.key);
  return { elem: 'bool', shape: 'one', at: lhs.at, get: fuse(get, r), ...(req ? { req } : {}) };
}

/** One closure per comparison for the common cases (a call saved per evaluation), else value then test. */
function fuse(get: Getter, r: Rhs): Getter {
  const { eq, contains, set, test } = r;
  if (eq !== undefined) return (q) => get(q) === eq;
  if (set !== undefined) return (q) => set.has(get(q) as string);
  if (contains !== undefined) {
    return (q) => {
      const v = get(q) as string | undefined;
      return v !== undefined && v.includes(contains);
    };
  }
  return (q) => {
    const v = get(q);
    return v !== undefined && test(v);
  };
}

/** The right-hand side of `op` for a value of type `elem` (its test is false on a missing value). */
function rhs(s: Scanner, elem: Elem, op: Op): Rhs {
  const at = s.space();
  if (op === 'in') {
    if (s.eat('$')) s.fail('named lists ($name) are not supported: write the values inline, in {…}', at);
    return elem === 'str' ? stringSet(s) : elem === 'int' ? { test: intSet(s) } : ipLiteralSet(s);
  }
  if (elem === 'str') {
    if (op === 'matches' || op === 'wildcard' || op === 'strict wildcard') {
      const pattern = op === 'matches' ? s.regex() : s.string();
      const test = op === 'matches' ? compileRegex(pattern) : compileWildcard(pattern, op === 'wildcard');
      if (typeof test === 'string') s.fail(`invalid ${op === 'matches' ? 'regular expression' : 'wildcard'}: ${test}`, at);
      const req = op === 'matches' ? (key: string) => regexRequirement(key, pattern) : undefined;
      return { test: (v) => v !== undefined && test(v as string), req };
    }
    const lit = s.string();
    const req = op === 'eq' ? (key: string) => valuesOf(key, [lit]) : op === 'contains' ? (key: string) => needleOf(key, lit) : undefined;
    return { test: ordered(op, lit), eq: op === 'eq' ? lit : undefined, contains: op === 'contains' ? lit : undefined, req };
  }
  if (elem === 'int') {
    const n = s.int();
    if (n === undefined) s.fail('expected an integer');
    return { test: ordered(op, n), eq: op === 'eq' ? n : undefined };
  }
  const text = s.ipText();
  if (text === undefined) s.fail('expected an IP address');
  const range = parseIpElement(text, false);
  if (typeof range === 'string') s.fail(range, at);
  const has = ipSet([range]);
  if (op !== 'eq') return { test: (v) => v !== undefined && !has(v as IpAddress) };
  return { test: (v) => v !== undefined && has(v as IpAddress), req: (key) => rangesOf(key, [range]) };
}

function ordered(op: Op, lit: string | number): (v: unknown) => boolean {
  switch (op) {
    case 'eq':
      return (v) => v === lit;
    case 'ne':
      return (v) => v !== undefined && v !== lit;
    case 'lt':
      return (v) => v !== undefined && (v as string | number) < lit;
    case 'le':
      return (v) => v !== undefined && (v as string | number) <= lit;
    case 'gt':
      return (v) => v !== undefined && (v as string | number) > lit;
    case 'ge':
      return (v) => v !== undefined && (v as string | number) >= lit;
    default:
      return (v) => v !== undefined && (v as string).includes(lit as string);
  }
}

/** Reads `{ e1 e2 … }`, elements separated by spaces, each read by `element`. */
function setOf(s: Scanner, element: () => void): void {
  s.expect('{', 'a set: {…}');
  while (!s.eat('}')) {
    if (s.done) s.fail('unterminated set: missing "}"');
    if (s.eat(',')) s.fail('set elements are separated by spaces, not commas', s.pos - 1);
    element();
  }
}

function stringSet(s: Scanner): Rhs {
  const set = new Set<string>();
  setOf(s, () => set.add(s.string()));
  return { test: (v) => set.has(v as string), set, req: (key) => valuesOf(key, set) };
}

function intSet(s: Scanner): (v: unknown) => boolean {
  const ranges: [number, number][] = [];
  setOf(s, () => {
    const at = s.space();
    const lo = s.int();
    if (lo === undefined) s.fail('expected an integer or a range (a..b)');
    const hi = s.eat('..') ? s.int() : lo;
    if (hi === undefined || hi < lo) s.fail('invalid integer range', at);
    ranges.push([lo, hi]);
  });
  return (v) => v !== undefined && ranges.some(([lo, hi]) => (v as number) >= lo && (v as number) <= hi);
}

/** An inline IP set; its requirement is its ranges when every one is a CIDR block (the index holds only those). */
function ipLiteralSet(s: Scanner): Rhs {
  const ranges: IpRange[] = [];
  setOf(s, () => {
    const at = s.space();
    const text = s.ipText();
    if (text === undefined) s.fail('expected an IP address, a CIDR or a range (a..b)');
    const range = parseIpElement(text, true);
    if (typeof range === 'string') s.fail(range, at);
    ranges.push(range);
  });
  const has = ipSet(ranges);
  const blocks = ranges.every((r) => prefixLength(r) >= 0);
  return { test: (v) => v !== undefined && has(v as IpAddress), req: blocks ? (key) => rangesOf(key, ranges) : undefined };
}
