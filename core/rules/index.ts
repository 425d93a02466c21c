/**
 * Cloudflare Load Balancing rule conditions: the part of the Rules language (wirefilter) that load
 * balancing rules use, compiled once per config version into a predicate over a request view.
 *
 *     const c = compileCondition('http.request.uri.path matches "^/api/" and ip.src in {192.0.2.0/24}');
 *     if (!c.ok) return 400 with c.error  // { offset, token, message }
 *     const view = new RuleRequest({ url, method, headers, clientIp, place, loadBalancer: lb.name });
 *     c.predicate(view)  // boolean; build `view` once per request and share it among rules
 *     c.requirement      // { field, values, prefixes, suffixes, needles, ranges } it implies, or undefined (requirement.ts)
 *
 * Supported: the fields of core/rules/fields.ts; the operators of compare.ts; `and`/`&&`, `or`/`||`,
 * `xor`/`^^`, `not`/`!`, parentheses; the functions of functions.ts; quoted and raw strings;
 * inline sets. Not supported (refused with an error naming the position): named lists (`$name`),
 * functions other than lower/upper/starts_with/ends_with/len/any/all, fields outside the list
 * (for example `http.request.timestamp.sec`, `ip.src.asnum`, `cf.bot_management.*`, DNS-only
 * `dns.*` fields), byte-string literals (`01:02:03`), and Boolean/Integer literals as values.
 *
 * Limits: 4,096 characters (Cloudflare's maximum rule expression length, "Expressions" in the
 * Rules language reference) and MAX_NESTING levels of parentheses, `not` and calls.
 */
import { typeName } from './fields.ts';
import { Parser } from './parse.ts';
import type { RuleRequest } from './request.ts';
import type { Requirement } from './requirement.ts';
import { RuleSyntaxError, Scanner, type RuleError } from './scanner.ts';

export { MAX_NESTING } from './parse.ts';
export { RuleRequest, type RuleRequestInit } from './request.ts';
export { parseAddress, type IpAddress } from './ip.ts';
export { fieldReader, type Requirement } from './requirement.ts';
export type { RuleError } from './scanner.ts';

/** Cloudflare's maximum rule expression length, in characters. */
export const MAX_EXPRESSION_LENGTH = 4096;

/** A compiled condition: true when the rule applies to the request. Never throws. */
export type Predicate = (request: RuleRequest) => boolean;

/** `requirement`: a necessary condition for `predicate` to be true (requirement.ts), when one was found. */
export type CompiledCondition =
  { readonly ok: true; readonly predicate: Predicate; readonly requirement?: Requirement } | { readonly ok: false; readonly error: RuleError };

const always: Predicate = () => true;
const OPERATORS = new Set(['and', 'or', 'xor', 'not', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'contains', 'matches', 'in', 'wildcard', 'strict']);

/**
 * Compiles a rule's `condition`. An empty (or blank) condition always matches, as Cloudflare's API
 * documents for load balancer rules. Invalid expressions are returned, not thrown: `error.offset`
 * is where the problem starts (0-based, in UTF-16 code units), `error.token` the text there.
 */
export function compileCondition(expression: string): CompiledCondition {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    const error = new RuleSyntaxError(expression, MAX_EXPRESSION_LENGTH, `the expression is longer than ${MAX_EXPRESSION_LENGTH} characters`);
    return { ok: false, error: plain(error) };
  }
  const s = new Scanner(expression);
  if (s.done) return { ok: true, predicate: always };
  try {
    const value = new Parser(s).expression();
    if (!s.done) {
      const word = /^[A-Za-z]+/.exec(expression.slice(s.pos))?.[0].toLowerCase() ?? '';
      if (OPERATORS.has(word)) s.fail(`operators are written in lower case: ${word}`);
      s.fail('expected "and", "or", "xor" or the end of the expression');
    }
    if (value.elem !== 'bool' || value.shape !== 'one') {
      const hint = value.shape === 'one' ? 'compare it with an operator (eq, contains, matches, in…)' : 'wrap it in any() or all()';
      s.fail(`a condition must be a Boolean, not ${typeName(value)}: ${hint}`, value.at);
    }
    const get = value.get as Predicate;
    return { ok: true, predicate: get, ...(value.req ? { requirement: value.req } : {}) };
  } catch (e) {
    if (e instanceof RuleSyntaxError) return { ok: false, error: plain(e) };
    throw e;
  }
}

function plain(e: RuleSyntaxError): RuleError {
  return { offset: e.offset, token: e.token, message: e.message };
}
