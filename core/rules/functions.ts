/**
 * The Rules language functions that are cheap and deterministic (Cloudflare's "Functions"
 * reference, developers.cloudflare.com/ruleset-engine/rules-language/functions/):
 * - `lower(String)`, `upper(String)`: ASCII letters only ("Only uppercase ASCII bytes are converted").
 * - `starts_with(String, "literal")`, `ends_with(String, "literal")`: Boolean; the source must not be a literal.
 * - `len(String | Array)`: Integer: the UTF-8 byte length of a string, the element count of an array.
 * - `any(Array<Boolean>)`, `all(Array<Boolean>)`: Boolean; false when the array is missing
 *   (`all(http.request.headers["accept"][*] == "x")` is false without the header).
 * Given an array unpacked with `[*]`, lower/upper/starts_with/ends_with/len apply to each element
 * and return an array (`any(lower(http.request.headers.names[*])[*] == "x-debug")`).
 * A missing argument gives a missing result.
 */
import { typeName, type Elem, type Getter, type Val } from './fields.ts';

type Fail = (message: string, at?: number) => never;
type Fn = (args: readonly Val[], at: number, fail: Fail) => Val;

/** Lifts `f` over the source's shape: a value, or each element of a `[*]`-unpacked array. */
function lift(src: Val, elem: Elem, at: number, f: (v: never) => unknown): Val {
  const get = src.get;
  if (src.shape === 'one') {
    return {
      elem,
      shape: 'one',
      at,
      get: (r) => {
        const v = get(r);
        return v === undefined ? undefined : f(v as never);
      },
    };
  }
  return { elem, shape: 'array', at, get: (r) => (get(r) as never[] | undefined)?.map(f) };
}

function source(name: string, args: readonly Val[], arity: number, at: number, fail: Fail): Val {
  if (args.length !== arity) fail(`${name}() takes ${arity} argument${arity > 1 ? 's' : ''}, not ${args.length}`, at);
  const src = args[0]!;
  if (src.literal !== undefined) fail(`the first argument of ${name}() must be a field, not a literal`, src.at);
  return src;
}

function stringSource(name: string, args: readonly Val[], arity: number, at: number, fail: Fail): Val {
  const src = source(name, args, arity, at, fail);
  if (src.elem !== 'str' || src.shape === 'array') fail(`${name}() takes a String (or an Array<String> unpacked with [*]), not ${typeName(src)}`, src.at);
  return src;
}

const NON_ASCII = /[\u0080-\uffff]/;

/** Memos of case mappers by `upper(K)` / `lower(K)` key; at most MAX_MEMOS (keys come from admins' rules). */
const MEMOS = new Map<string, { in: string; out: string }>();
const MAX_MEMOS = 1024;

/**
 * ASCII case mapping (Cloudflare's lower()/upper() change A-Z/a-z only) with a memo of the last
 * value: one per field key `key` (requirement.ts, such as `http.user_agent`), shared by every
 * call site and the rule index reading that key, so ten rules lowering one request's User-Agent
 * map it once and lower(http.host) beside lower(http.user_agent) keeps both; without a key
 * (an unpacked array) or past MAX_MEMOS keys, one memo per call site. An ASCII string maps with
 * toLowerCase/toUpperCase, identical on ASCII; any other maps letter by letter so that
 * non-ASCII letters stay as they are.
 */
export function caseMapper(upperCase: boolean, key?: string): (s: string) => string {
  const name = key === undefined ? undefined : `${upperCase ? 'upper' : 'lower'}(${key})`;
  let memo = name === undefined ? undefined : MEMOS.get(name);
  if (!memo) {
    memo = { in: '', out: '' };
    if (name !== undefined && MEMOS.size < MAX_MEMOS) MEMOS.set(name, memo);
  }
  return (s) => {
    if (s !== memo.in) {
      memo.in = s;
      memo.out = !NON_ASCII.test(s)
        ? upperCase
          ? s.toUpperCase()
          : s.toLowerCase()
        : upperCase
          ? s.replace(/[a-z]+/g, (m) => m.toUpperCase())
          : s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
    }
    return memo.out;
  };
}

/** UTF-8 length of a JavaScript string (a surrogate pair is one 4-byte character). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) ((n += 4), i++);
    else n += 3;
  }
  return n;
}

function affix(name: string, starts: boolean): Fn {
  return (args, at, fail) => {
    const src = stringSource(name, args, 2, at, fail);
    const lit = args[1]!.literal;
    if (typeof lit !== 'string') return fail(`the second argument of ${name}() must be a string literal`, args[1]!.at);
    // lastIndexOf(lit, 0) tests only index 0, indexOf(lit, length - n) only the last n: both faster than startsWith/endsWith in V8
    const n = lit.length;
    const test = starts ? (s: string) => s.lastIndexOf(lit, 0) === 0 : (s: string) => s.length >= n && s.indexOf(lit, s.length - n) >= 0;
    if (src.shape === 'each') return lift(src, 'bool', at, test);
    const get = src.get as (r: Parameters<Getter>[0]) => string | undefined;
    const fused: Getter = starts
      ? (r) => {
          const v = get(r);
          return v !== undefined && v.lastIndexOf(lit, 0) === 0;
        }
      : (r) => {
          const v = get(r);
          return v !== undefined && v.length >= n && v.indexOf(lit, v.length - n) >= 0;
        };
    return { elem: 'bool', shape: 'one', at, get: fused };
  };
}

function quantifier(name: string, every: boolean): Fn {
  return (args, at, fail) => {
    const src = source(name, args, 1, at, fail);
    if (src.elem !== 'bool' || src.shape === 'one') {
      fail(`${name}() takes an Array<Boolean>, such as ${name}(http.request.headers["accept"][*] == "…"), not ${typeName(src)}`, src.at);
    }
    if (src.each) {
      const { get, test } = src.each as { get: (r: Parameters<Getter>[0]) => unknown[] | undefined; test: (v: unknown) => boolean };
      const fused: Getter = every
        ? (r) => {
            const a = get(r);
            return a !== undefined && (a.length === 1 ? test(a[0]) : a.every(test));
          }
        : (r) => {
            const a = get(r);
            return a !== undefined && (a.length === 1 ? test(a[0]) : a.some(test));
          };
      return { elem: 'bool', shape: 'one', at, get: fused };
    }
    const get = src.get as (r: Parameters<Getter>[0]) => boolean[] | undefined;
    const quantified: Getter = every ? (r) => get(r)?.every(Boolean) ?? false : (r) => get(r)?.some(Boolean) ?? false;
    return { elem: 'bool', shape: 'one', at, get: quantified };
  };
}

/** The field key of a single value (requirement.ts), else undefined (an unpacked array, a literal). */
const keyOf = (v: Val): string | undefined => (v.shape === 'one' ? v.key : undefined);

export const FUNCTIONS: ReadonlyMap<string, Fn> = new Map<string, Fn>([
  ['lower', (args, at, fail) => lift(stringSource('lower', args, 1, at, fail), 'str', at, caseMapper(false, keyOf(args[0]!)))],
  ['upper', (args, at, fail) => lift(stringSource('upper', args, 1, at, fail), 'str', at, caseMapper(true, keyOf(args[0]!)))],
  ['starts_with', affix('starts_with', true)],
  ['ends_with', affix('ends_with', false)],
  [
    'len',
    (args, at, fail) => {
      const src = source('len', args, 1, at, fail);
      if (src.elem !== 'str' && src.shape === 'one') fail(`len() takes a String or an Array, not ${typeName(src)}`, src.at);
      if (src.shape === 'array') return lift({ ...src, shape: 'one' }, 'int', at, (a: unknown[]) => a.length);
      return lift(src, 'int', at, utf8Length);
    },
  ],
  ['any', quantifier('any', false)],
  ['all', quantifier('all', true)],
]);
