/**
 * The grammar of a condition, compiled as it is parsed (one pass, no syntax tree kept):
 *
 *     expression := xor (("or" | "||") xor)*
 *     xor        := and (("xor" | "^^") and)*
 *     and        := unary (("and" | "&&") unary)*
 *     unary      := ("not" | "!") unary | primary
 *     primary    := "(" expression ")" | string | value [comparison]
 *     value      := name ["(" [expression ("," expression)*] ")"] ("[" (string | integer | "*") "]")*
 *
 * Precedence is Cloudflare's ("Order of precedence": not, then and, then xor, then or), the
 * structure wirefilter's (engine/src/ast/logical_expr.rs: `not` applies to a simple expression,
 * so `not http.host eq "a"` is `not (http.host eq "a")`). English operators are lower case only.
 * Logical operators take Booleans, or arrays of Booleans element by element (inside any()/all()).
 *
 * Besides the predicate, each Boolean carries its requirement (requirement.ts), if any: found by
 * compare.ts for comparisons of a keyed value (`Val.key`: a field read as is, a map element
 * `[i]`, lower()/upper() of one), by `#call` for `starts_with`/`ends_with` of one, by `combine`
 * for `and`/`or`; `not`, `xor` and everything else drop it.
 */
import { comparison } from './compare.ts';
import { FIELDS, typeName, type Getter, type Val } from './fields.ts';
import { FUNCTIONS } from './functions.ts';
import { bestOf, indexedField, mapKey, prefixOf, suffixOf, unionOf, type Cond } from './requirement.ts';
import type { Scanner } from './scanner.ts';

/** How deep parentheses, `not` and function calls may nest. Cloudflare documents no figure; wirefilter caps nesting too. */
export const MAX_NESTING = 32;

type Logic = 'or' | 'xor' | 'and';
const LEVELS: readonly (readonly [Logic, string, string])[] = [
  ['or', 'or', '||'],
  ['xor', 'xor', '^^'],
  ['and', 'and', '&&'],
];
const KEYWORDS = new Set(['and', 'or', 'xor', 'not', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'contains', 'matches', 'in', 'wildcard', 'strict']);

export class Parser {
  readonly #s: Scanner;
  #depth = 0;
  /** Whether `[*]` may appear: only within the first argument of a function. */
  #star = false;
  constructor(s: Scanner) {
    this.#s = s;
  }

  expression(level = 0): Cond {
    if (level === LEVELS.length) return this.unary();
    const [op, word, symbol] = LEVELS[level]!;
    const items = [this.expression(level + 1)];
    for (;;) {
      const at = this.#s.space();
      if (!this.#s.eatWord(word) && !this.#s.eat(symbol)) break;
      items.push(this.expression(level + 1));
      const [first, last] = [items[0]!, items.at(-1)!];
      for (const v of [first, last]) this.#bool(v, `"${op}"`);
      if (first.shape !== last.shape) this.#s.fail(`"${op}" joins a ${typeName(first)} and an ${typeName(last)}`, at);
    }
    return items.length === 1 ? items[0]! : combine(op, items);
  }

  #nest<T>(at: number, f: () => T): T {
    if (++this.#depth > MAX_NESTING) this.#s.fail(`nested more than ${MAX_NESTING} levels deep`, at);
    const out = f();
    this.#depth--;
    return out;
  }

  #bool(v: Val, where: string): void {
    if (v.elem !== 'bool' || v.shape === 'each') {
      const hint =
        v.shape !== 'one' ? ': index it ([0]) or unpack it ([*]) inside any() or all()' : ': compare it with an operator (eq, contains, matches, in…)';
      this.#s.fail(`${where} takes Booleans, not ${typeName(v)}${hint}`, v.at);
    }
  }

  unary(): Cond {
    const at = this.#s.space();
    const s: Scanner = this.#s;
    if (s.eatWord('not') || (s.src[at] === '!' && s.src[at + 1] !== '=' && s.eat('!'))) {
      const arg = this.#nest(at, () => this.unary());
      this.#bool(arg, '"not"');
      const get = arg.get;
      if (arg.shape === 'one') return { elem: 'bool', shape: 'one', at, get: (r) => !get(r) };
      return { elem: 'bool', shape: 'array', at, get: (r) => (get(r) as boolean[] | undefined)?.map((b) => !b) };
    }
    return this.primary();
  }

  primary(): Cond {
    const s: Scanner = this.#s;
    const at = s.space();
    if (s.eat('(')) {
      const inner = this.#nest(at, () => this.expression());
      s.expect(')', '")"');
      return { ...inner, at };
    }
    if (s.atString()) {
      const literal = s.string();
      return comparison(s, { elem: 'str', shape: 'one', at, literal, get: () => literal });
    }
    const name = s.name();
    if (name === undefined || KEYWORDS.has(name)) s.fail('expected a field, a function call, "(" or "not"', at);
    let value = s.eat('(') ? this.#call(name, at) : undefined;
    if (!value) {
      const def = FIELDS.get(name) ?? s.fail(`unknown field "${name}"`, at);
      if (def.kind === 'map') {
        if (!s.eat('[')) s.fail(`${name} is a Map: read it with a key, ${name}["…"]`, at);
        const key = s.string();
        s.expect(']', '"]"');
        value = { elem: 'str', shape: 'array', at, get: def.get(key), key: mapKey(name, key) };
      } else value = { elem: def.elem, shape: def.shape, at, get: def.get, key: indexedField(name) };
    }
    return comparison(s, this.#index(value));
  }

  #call(name: string, at: number): Cond {
    const s: Scanner = this.#s;
    const fn = FUNCTIONS.get(name) ?? s.fail(`unknown or unsupported function ${name}()`, at);
    const args: Val[] = [];
    this.#nest(at, () => {
      if (s.eat(')')) return;
      do {
        const star = this.#star;
        this.#star = args.length === 0;
        args.push(this.expression());
        this.#star = star;
      } while (s.eat(','));
      s.expect(')', '"," or ")"');
    });
    const out = fn(args, at, (message, where = at) => s.fail(message, where));
    const key = out.shape === 'one' && args[0]!.shape === 'one' ? args[0]!.key : undefined;
    if (key === undefined) return out;
    if (name === 'lower' || name === 'upper') return { ...out, key: `${name}(${key})` };
    const lit = args[1]?.literal;
    if (typeof lit !== 'string') return out;
    return name === 'starts_with' ? { ...out, req: prefixOf(key, lit) } : name === 'ends_with' ? { ...out, req: suffixOf(key, lit) } : out;
  }

  /** Postfix indexing: `[0]` takes an element (missing when out of range), `[*]` unpacks. */
  #index(value: Val): Val {
    const s: Scanner = this.#s;
    for (;;) {
      const at = s.space();
      if (!s.eat('[')) return value;
      if (value.shape !== 'array') s.fail(`a ${typeName(value)} cannot be indexed`, at);
      if (s.eat('*')) {
        if (!this.#star) s.fail('[*] is allowed only in the first argument of a function, such as any(… [*] == …)', at);
        value = { ...value, shape: 'each', key: undefined };
      } else {
        const i = s.int();
        if (i === undefined || i < 0) s.fail('expected an index: a non-negative integer or *', at + 1);
        const get = value.get;
        // a map's element has a key; an element of an array field (`headers.names[0]`) has none
        const key = value.key !== undefined && value.shape === 'array' && value.key.endsWith(']') ? `${value.key}[${i}]` : undefined;
        value = { ...value, shape: 'one', get: (r) => (get(r) as unknown[] | undefined)?.[i], key };
      }
      s.expect(']', '"]"');
    }
  }
}

/** `and`/`or`/`xor` over Booleans (short-circuit for and/or), or element by element over arrays; with the requirement of and/or. */
function combine(op: Logic, items: readonly Cond[]): Cond {
  const gets = items.map((v) => v.get as (r: Parameters<Getter>[0]) => boolean);
  const [a, b] = gets as [(typeof gets)[0], (typeof gets)[0]];
  let get: Getter;
  if (items[0]!.shape === 'one') {
    if (op === 'and') get = gets.length === 2 ? (r) => a(r) && b(r) : (r) => gets.every((g) => g(r));
    else if (op === 'or') get = gets.length === 2 ? (r) => a(r) || b(r) : (r) => gets.some((g) => g(r));
    else get = (r) => gets.reduce((acc, g) => acc !== g(r), false);
  } else {
    const f = op === 'and' ? (x: boolean, y: boolean) => x && y : op === 'or' ? (x: boolean, y: boolean) => x || y : (x: boolean, y: boolean) => x !== y;
    const arrays = gets as unknown as ((r: Parameters<Getter>[0]) => boolean[] | undefined)[];
    get = (r) => {
      let out = arrays[0]!(r);
      for (let i = 1; i < arrays.length && out; i++) {
        const next = arrays[i]!(r);
        out = next && out.slice(0, next.length).map((x, k) => f(x, next[k]!));
      }
      return out;
    };
  }
  const one = items[0]!.shape === 'one';
  const reqs = items.map((v) => v.req);
  const req = !one ? undefined : op === 'and' ? bestOf(reqs) : op === 'or' ? unionOf(reqs) : undefined;
  return { elem: 'bool', shape: items[0]!.shape, at: items[0]!.at, get, ...(req ? { req } : {}) };
}
