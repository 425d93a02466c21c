/**
 * Round trips of the pure code, over generated valid documents (fast-check, fixed seed, 1,000
 * each): a stored document written again reads back the same; our document → Cloudflare's
 * format → import gives back the same document (into the same store: identical; into an empty
 * one: the same but for our extensions, which Cloudflare cannot express and which then take our
 * defaults). The same properties through the real Worker: worker/admin/import.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyDocument, importDocument, type ConfigDocument, type WriteContext } from '../document.ts';
import { LoadBalancerSchema, OriginSchema, PoolSchema } from '../schema.ts';
import { validDocument } from './arbitrary.ts';
import { CLOUDFLARE_ORIGIN_STEERING, EXTENSIONS, toCloudflare } from './export.ts';
import { mergeImport, planImport, relocate } from './import.ts';

const RUNS = 1000;
let tick = 0;
const ctx: WriteContext = { newId: () => `new${++tick}`, now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)).toISOString() };

function write(current: ConfigDocument, input: unknown): ConfigDocument {
  const outcome = importDocument(current, input, ctx);
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors.slice(0, 3)));
  return outcome.value;
}

/** A document without what the server stamps (times), as JSON would carry it. */
function timeless(doc: ConfigDocument): unknown {
  return JSON.parse(JSON.stringify(doc, (key, value: unknown) => (key === 'created_on' || key === 'modified_on' || key === 'disabled_at' ? undefined : value)));
}

/** Cloudflare's export and import of `doc` into `into`, as the admin route does it. */
function throughCloudflare(doc: ConfigDocument, into: ConfigDocument): ConfigDocument {
  const { messages: _, ...lists } = toCloudflare(doc);
  const plan = planImport(JSON.parse(JSON.stringify(lists)));
  if (!plan.ok) throw new Error(JSON.stringify(plan.errors.slice(0, 3)));
  const merged = mergeImport(into, plan.value);
  const outcome = importDocument(into, merged.input, ctx);
  if (!outcome.ok) throw new Error(JSON.stringify(relocate(outcome.errors, merged.at).slice(0, 3)));
  return outcome.value;
}

/** `doc` as Cloudflare can express it: our extensions at our defaults, our origin steering policies at Cloudflare's default. */
function cloudflareSubset(doc: ConfigDocument): ConfigDocument {
  const origin = OriginSchema.parse({ name: 'o', address: 'o.example' });
  const pool = PoolSchema.parse({ name: 'p', origins: [origin] });
  const lb = LoadBalancerSchema.parse({ name: 'x.example', default_pools: ['p'], fallback_pool: 'p' });
  const pick = <T extends object>(from: T, fields: readonly string[]) => Object.fromEntries(fields.map((f) => [f, from[f as keyof T]]));
  return {
    ...emptyDocument(),
    monitors: doc.monitors,
    pools: doc.pools.map((p) => ({
      ...p,
      ...pick(pool, EXTENSIONS.pools),
      origin_steering: {
        ...pool.origin_steering,
        policy: CLOUDFLARE_ORIGIN_STEERING.includes(p.origin_steering.policy) ? p.origin_steering.policy : pool.origin_steering.policy,
      },
      origins: p.origins.map((o) => ({ ...o, ...pick(origin, EXTENSIONS.origins) })),
    })),
    load_balancers: doc.load_balancers.map((l) => ({ ...l, ...pick(lb, EXTENSIONS.load_balancers) })),
  };
}

describe('round trips over generated documents', () => {
  it('generate what matters: published and wildcard load balancers, every affinity, unprobed monitors, our policies, nulls, rules with pools and pool_weights, DNS zones, webhooks', () => {
    const docs = fc.sample(validDocument, { numRuns: RUNS, seed: 20260301 }) as unknown as Record<string, Record<string, unknown>[]>[];
    const count = (kind: string, test: (o: Record<string, unknown>) => boolean) => docs.filter((d) => d[kind]!.some(test)).length;
    const seen = {
      published: count('load_balancers', (lb) => lb.dns !== undefined),
      wildcard: count('load_balancers', (lb) => String(lb.name).startsWith('*.')),
      header_affinity: count('load_balancers', (lb) => lb.session_affinity === 'header'),
      cookie_affinity: count('load_balancers', (lb) => lb.session_affinity === 'cookie'),
      null_ttl: count('load_balancers', (lb) => lb.session_affinity_ttl === null),
      unprobed: count('monitors', (m) => ['icmp_ping', 'udp_icmp', 'smtp'].includes(String(m.type))),
      null_port: count('monitors', (m) => m.port === null),
      our_policy: count('pools', (p) =>
        ['round_robin', 'least_response_time', 'first'].includes(String((p.origin_steering as { policy?: string } | null)?.policy)),
      ),
      null_steering: count('pools', (p) => p.origin_steering === null),
      rule_pools: count('load_balancers', (lb) => (lb.rules as { overrides: Record<string, unknown> }[] | undefined)?.some((r) => r.overrides.pools) ?? false),
      rule_pool_weights: count(
        'load_balancers',
        (lb) => (lb.rules as { overrides: Record<string, unknown> }[] | undefined)?.some((r) => r.overrides.pool_weights) ?? false,
      ),
      zones: docs.filter((d) => d.dns_zones!.length).length,
      webhooks: docs.filter((d) => d.webhooks!.length).length,
    };
    for (const [what, n] of Object.entries(seen)) expect(n, what).toBeGreaterThan(RUNS / 50);
  });

  it(`${RUNS} documents: what is read back, written again, reads back the same`, () => {
    fc.assert(
      fc.property(validDocument, (input) => {
        const stored = write(emptyDocument(), input);
        const again = write(stored, JSON.parse(JSON.stringify(stored)));
        expect(JSON.stringify(timeless(again))).toBe(JSON.stringify(timeless(stored)));
      }),
      { numRuns: RUNS, seed: 20260301 },
    );
  });

  it(`${RUNS} documents: ours → Cloudflare's format → import into the same config is identical, extensions included`, () => {
    fc.assert(
      fc.property(validDocument, (input) => {
        const stored = write(emptyDocument(), input);
        expect(timeless(throughCloudflare(stored, stored))).toEqual(timeless(stored));
      }),
      { numRuns: RUNS, seed: 20260302 },
    );
  });

  it(`${RUNS} documents: ours → Cloudflare's format → import into an empty config is the subset Cloudflare can express`, () => {
    fc.assert(
      fc.property(validDocument, (input) => {
        const stored = write(emptyDocument(), input);
        expect(timeless(throughCloudflare(stored, emptyDocument()))).toEqual(timeless(cloudflareSubset(stored)));
      }),
      { numRuns: RUNS, seed: 20260303 },
    );
  });
});
