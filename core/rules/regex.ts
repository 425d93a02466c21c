/**
 * `matches` / `~` and `wildcard` / `strict wildcard` on a linear-time engine: re2js, a pure
 * JavaScript port of RE2 (github.com/le0pard/re2js): no backtracking, so no pattern can make a
 * request take more than time proportional to its input (RE2's guarantee; `(a+)+$` over a long
 * string is the classic catastrophic case for backtracking engines such as JavaScript's RegExp).
 *
 * Cloudflare runs `matches` on Rust's regex-automata through wirefilter (engine/src/rhs_types/regex/
 * imp_real.rs), byte-oriented with Unicode off: the syntax is RE2's family (no backreferences, no
 * lookaround) and `\d`, `\w`, `\s` are ASCII there as in RE2. Differences left: there `.` matches
 * one byte and `(?i)` folds ASCII only, here `.` matches one character and `(?i)` folds Unicode;
 * Rust accepts a few forms RE2 does not (class set operations such as `[a-y&&xyz]`): those are
 * refused here with RE2's message, at the pattern's offset.
 *
 * Linear, not free: a pattern whose DFA would need more than re2js's state budget (such as
 * `(a|b)*a(a|b){14}`) falls back to NFA simulation, about 0.4 µs per input character on this
 * machine. Patterns come from admins, inputs from clients: the time stays proportional to the
 * input whatever the input.
 *
 * A match is unanchored (like Rust's `is_match`): `"/api"` matches anywhere, `"^/api"` at the start.
 */
import { RE2JS } from 're2js';
import { needleOf, prefixOf, valuesOf, type Requirement } from './requirement.ts';

/**
 * A compiled pattern's test, or the engine's message when the pattern is invalid. A pattern that
 * starts with literal text (after `^`, or anywhere when unanchored) and has no top-level `|`
 * tests that text first with a string search (an re2js call costs ~60 ns even when it fails at
 * once): only inputs that contain it reach the engine.
 */
export function compileRegex(pattern: string): ((s: string) => boolean) | string {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  const anchored = pattern.startsWith('^');
  const prefix = requiredLiteral(pattern, anchored ? 1 : 0);
  if (!prefix) return (s) => re.test(s);
  return anchored ? (s) => s.lastIndexOf(prefix, 0) === 0 && re.test(s) : (s) => s.includes(prefix) && re.test(s);
}

const META = new Set([...'\\.+*?()[]{}|^$']);

/**
 * What a `matches` on the value `field` names requires of it (requirement.ts), from the pattern's
 * text alone, soundly for this engine (RE2 syntax, no flags: case-sensitive, `$` only at the end
 * of the text, `^` only at its start; checked in regex.test.ts):
 * - `^(a|b)$`, `^(?:a|b)$` or `^a$` with literal alternatives (escaped punctuation allowed, no
 *   flags, classes, repetition or escapes such as `\n`): the value is one of them;
 * - else `^` then literal text (`requiredLiteral`): the value starts with it;
 * - else literal text any match starts with: the value contains it.
 * These are the very prefilters compileRegex applies before the engine. Undefined when none.
 */
export function regexRequirement(field: string, pattern: string): Requirement | undefined {
  const exact = exactLiterals(pattern);
  if (exact) return valuesOf(field, exact);
  const anchored = pattern.startsWith('^');
  const literal = requiredLiteral(pattern, anchored ? 1 : 0);
  if (!literal) return undefined;
  return anchored ? prefixOf(field, literal) : needleOf(field, literal);
}

/** The alternatives of `^(a|b)$`, `^(?:a|b)$` or `^a$` when each is literal text; else undefined. */
export function exactLiterals(pattern: string): string[] | undefined {
  if (!pattern.startsWith('^')) return undefined;
  let i = 1;
  const group = pattern.startsWith('(?:', i) ? 3 : pattern[i] === '(' ? 1 : 0;
  i += group;
  const out: string[] = [];
  let lit = '';
  for (; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && /^[^0-9A-Za-z]$/.test(pattern[i + 1] ?? '')) lit += pattern[++i];
    else if (c === '|' && group) (out.push(lit), (lit = ''));
    else if (c === ')' && group) break;
    else if (META.has(c)) break;
    else lit += c;
  }
  out.push(lit);
  // what must follow: the group's `)` (when grouped), then `$` as the last character
  if (group && pattern[i++] !== ')') return undefined;
  return pattern[i] === '$' && i === pattern.length - 1 ? out : undefined;
}

/** The literal text every match starts with at `from` (escaped punctuation included), "" when none is certain. */
export function requiredLiteral(pattern: string, from: number): string {
  if (hasTopLevelAlternation(pattern)) return '';
  let out = '';
  let i = from;
  for (; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && /^[^0-9A-Za-z]$/.test(pattern[i + 1] ?? '')) out += pattern[++i];
    else if (META.has(c)) break;
    else out += c;
  }
  // What follows the last character may repeat it: quantifiers, and flag groups such as (?i),
  // which are no atom, so a quantifier after them applies again (`a(?m)?` and `a+(?i)?` match
  // ""). Any `*`, `?` or `{` in that run drops the character (`a+?` and `a{2}` would keep it:
  // dropping it there too only makes the requirement weaker, never wrong).
  let optional = false;
  for (;;) {
    const flags = /^\(\?[A-Za-z-]*\)/.exec(pattern.slice(i));
    if (flags) i += flags[0].length;
    else if ('*?{'.includes(pattern[i] ?? '_')) ((optional = true), i++);
    else if ('+},0123456789'.includes(pattern[i] ?? '_')) i++;
    else break;
  }
  return optional ? out.slice(0, -1) : out;
}

function hasTopLevelAlternation(pattern: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') {
      inClass = true;
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++; // a leading ] is literal
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/**
 * Cloudflare's wildcard operators ("Wildcard matching" in the operators reference): the whole
 * value must match; `*` is zero or more characters; `\*` and `\\` are a literal `*` and `\`; `**`
 * is invalid. `wildcard` ignores case, `strict wildcard` does not. Compiled to an anchored RE2
 * pattern, so it is linear too.
 */
export function compileWildcard(pattern: string, ignoreCase: boolean): ((s: string) => boolean) | string {
  let out = '';
  let literal = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[++i];
      if (next !== '*' && next !== '\\') return 'in a wildcard, \\ may only escape * or \\';
      literal += next;
    } else if (c === '*') {
      if (pattern[i + 1] === '*') return 'a wildcard must not contain ** (two unescaped * in a row)';
      out += `${RE2JS.quote(literal)}.*`;
      literal = '';
    } else literal += c;
  }
  out += RE2JS.quote(literal);
  const re = RE2JS.compile(`^${out}$`, RE2JS.DOTALL | (ignoreCase ? RE2JS.CASE_INSENSITIVE : 0));
  return (s) => re.test(s);
}
