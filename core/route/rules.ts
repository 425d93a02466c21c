/**
 * Cloudflare load balancing rules, applied to one request before steering.
 *
 * Order, as Cloudflare documents it (API reference `Rules`; "Create custom rules" in the Load
 * Balancing docs):
 * - rules run by `priority`, lower first; a rule without one takes its index in `rules` (so
 *   without priorities the array order holds); equal priorities keep array order;
 * - `disabled` rules are not evaluated;
 * - each matching rule's `overrides` are laid over the load balancer, field by field: a later
 *   matching rule's field replaces an earlier one's (non-terminating actions: the last one wins);
 *   an object field (`session_affinity_attributes`, `random_steering`…) is replaced whole;
 * - a matching rule with `terminates` stops evaluation after it is applied;
 * - a matching rule with `fixed_response` is answered at once (Cloudflare marks such a rule as
 *   terminating); overrides of earlier rules then change nothing.
 *
 * A RuleSet is compiled once per config version (core/route compileSnapshot). The load balancer a
 * combination of matched rules produces is built once and kept (each single rule's, and at most
 * MAX_EFFECTIVE combinations of several per set),
 * so a request pays the predicates and one lookup, and routing's per-object caches still work.
 *
 * Rules are indexed by their requirements (core/rules requirement.ts, rule-index.ts): a request
 * runs the predicates of the rules without one, and of those whose required host, path, method,
 * country… it has, in evaluation order; a rule skipped this way could not have matched, so the
 * outcome is the one of running every predicate in order (`applyLinear`, kept as the reference).
 */
import { RuleSchema, type FixedResponse, type LoadBalancer, type Rule, type RuleOverrides } from '../config/index.ts';
import { compileCondition, type Predicate, type Requirement, type RuleRequest } from '../rules/index.ts';
import { OVERRIDE_FIELDS, overrideFields } from './overrides.ts';
import { RuleIndex } from '../rules/rule-index.ts';
import { markRanks, nextRank, rankSet } from '../rules/ranks.ts';

/** Load balancers built from matched-rule combinations that one RuleSet keeps (later ones are built per request). */
export const MAX_EFFECTIVE = 256;

/** A rule ready to run: its predicate, compiled once. */
export interface CompiledRule {
  /** Index in the load balancer's `rules`. */
  readonly index: number;
  readonly rule: Rule;
  readonly predicate: Predicate;
  /** What a request must have for `predicate` to be true, when compiling found it. */
  readonly requirement?: Requirement;
}

/** One rule that matched a request, as the routing explainer reports it. */
export interface MatchedRule {
  readonly index: number;
  readonly name: string;
  readonly priority: number;
  /** The override fields this rule set (a later rule may replace some: see `overridden_by`). */
  readonly overrides: readonly string[];
  /** Fields of this rule replaced by a later matching rule: field → that rule's index. */
  readonly overridden_by?: Readonly<Record<string, number>>;
  readonly terminates: boolean;
  readonly fixed_response?: FixedResponse;
}

/** What the rules decided for one request. */
export interface RuleOutcome {
  /** The load balancer to route with: the configured one when no override applied. */
  readonly lb: LoadBalancer;
  /** Indices (in `rules`) of the rules that matched, in evaluation order. */
  readonly matched: readonly number[];
  /** Set when a matching rule answers the request itself. */
  readonly fixed?: FixedResponse;
  /**
   * How many predicates ran: the index's candidates up to the decision (a terminating or fixed
   * response rule stops it), not every enabled rule; `applyLinear` counts every rule it ran. The
   * routing explainer's `rules.evaluated`.
   */
  readonly evaluated: number;
}

/** The override fields a rule sets, in a fixed order. */
const setFields = (o: RuleOverrides): string[] => OVERRIDE_FIELDS.filter((f) => o[f] !== undefined);

/** A load balancer's enabled rules in evaluation order, and the load balancers their matches produce. */
export class RuleSet {
  readonly lb: LoadBalancer;
  /** Enabled rules, by priority (then index). */
  readonly rules: readonly CompiledRule[];
  /** Rules stored before rules were validated that are not valid now (condition or shape): never match. */
  readonly broken: readonly { index: number; message: string }[];
  /** Every rule by index, as validated now (undefined for a broken one). */
  readonly #byIndex: (Rule | undefined)[];
  readonly #effective = new Map<string, LoadBalancer>();
  /** The load balancer one matching rule produces, by that rule's index (built on first use). */
  readonly #single: (LoadBalancer | undefined)[] = [];
  readonly #index: RuleIndex;
  /** Every rule's position, for applyLinear. */
  readonly #every: Uint32Array;

  constructor(lb: LoadBalancer) {
    this.lb = lb;
    const rules: CompiledRule[] = [];
    const broken: { index: number; message: string }[] = [];
    // Written rules were validated; a document stored while `rules` was unchecked may hold anything: validated again here, once per version.
    this.#byIndex = lb.rules.map((raw, index) => {
      const parsed = RuleSchema.safeParse(raw);
      if (!parsed.success) broken.push({ index, message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      return parsed.success ? parsed.data : undefined;
    });
    this.#byIndex.forEach((rule, index) => {
      if (!rule || rule.disabled) return;
      const c = compileCondition(rule.condition);
      if (c.ok) rules.push({ index, rule, predicate: c.predicate, ...(c.requirement ? { requirement: c.requirement } : {}) });
    });
    rules.sort((a, b) => priorityOf(a) - priorityOf(b) || a.index - b.index);
    this.rules = rules;
    this.broken = broken;
    this.#index = new RuleIndex(rules.map((r) => r.requirement));
    this.#every = rankSet(rules.length);
    markRanks(
      this.#every,
      rules.map((_, i) => i),
    );
  }

  /**
   * Runs the rules over one request view (built once per request, shared by every predicate): the
   * predicates of the index's candidates, in evaluation order. Same outcome as `applyLinear`.
   */
  apply(request: RuleRequest): RuleOutcome {
    return this.#run(request, this.#index.useful ? this.#index.candidates(request) : this.#every);
  }

  /** Every enabled rule's predicate in evaluation order: the reference `apply` must agree with (and what it does when nothing is indexed). */
  applyLinear(request: RuleRequest): RuleOutcome {
    return this.#run(request, this.#every);
  }

  /** The rules at the positions in `ranks` (a rank set over `rules`), in order. */
  #run(request: RuleRequest, ranks: Uint32Array): RuleOutcome {
    let matched: number[] | undefined;
    let evaluated = 0;
    for (let p = nextRank(ranks, 0); p >= 0; p = nextRank(ranks, p + 1)) {
      const r = this.rules[p]!;
      evaluated++;
      if (!r.predicate(request)) continue;
      (matched ??= []).push(r.index);
      if (r.rule.fixed_response) return { lb: this.lb, matched, fixed: r.rule.fixed_response, evaluated };
      if (r.rule.terminates) break;
    }
    if (!matched) return { lb: this.lb, matched: [], evaluated };
    return { lb: this.effective(matched), matched, evaluated };
  }

  /** The load balancer with the overrides of `matched` (rule indices, in evaluation order) laid over it, in order. */
  effective(matched: readonly number[]): LoadBalancer {
    // One matching rule is the common case: its load balancer is found by index, without a key string per request.
    if (matched.length === 1) return (this.#single[matched[0]!] ??= this.#build(matched));
    const key = matched.join(',');
    const hit = this.#effective.get(key);
    if (hit) return hit;
    const lb = this.#build(matched);
    if (this.#effective.size < MAX_EFFECTIVE) this.#effective.set(key, lb);
    return lb;
  }

  #build(matched: readonly number[]): LoadBalancer {
    let lb = this.lb;
    for (const i of matched) {
      const o = this.#byIndex[i]!.overrides;
      if (setFields(o).length) lb = { ...lb, ...overrideFields(o) };
    }
    return lb;
  }

  /** The explainer's account of `outcome`: each matched rule, what it set and what later rules replaced. */
  explain(outcome: RuleOutcome): MatchedRule[] {
    const setBy = new Map<string, number>();
    for (const i of outcome.matched) for (const f of setFields(this.#byIndex[i]!.overrides)) setBy.set(f, i);
    return outcome.matched.map((index) => {
      const rule = this.#byIndex[index]!;
      const overrides = setFields(rule.overrides);
      const replaced = overrides.filter((f) => setBy.get(f) !== index);
      return {
        index,
        name: rule.name,
        priority: rule.priority ?? index,
        overrides,
        ...(replaced.length ? { overridden_by: Object.fromEntries(replaced.map((f) => [f, setBy.get(f)!])) } : {}),
        terminates: rule.terminates,
        ...(rule.fixed_response ? { fixed_response: rule.fixed_response } : {}),
      };
    });
  }
}

const priorityOf = (r: CompiledRule): number => r.rule.priority ?? r.index;
