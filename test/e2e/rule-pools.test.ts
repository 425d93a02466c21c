/**
 * Cloudflare's declarative rule overrides end to end (issue #12): the real Worker under wrangler
 * dev, one real origin per pool on 127.0.0.1; which origin answers (x-origin) shows the pool.
 *
 * - `pools` on a geo load balancer whose maps send every place to pool a: the matched requests
 *   go to exactly the rule's pools, in order.
 * - `pool_weights` / `pool_default_weight` on a random load balancer: a pool of weight 0 is never
 *   chosen while another has weight (deterministic facts only, no ratios).
 * - What is written reads back exactly, in our format and in Cloudflare's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGIONS } from '../../core/steer/regions.ts';
import { startOrigins, type OriginServer } from '../../scripts/lib/origin-server.ts';
import { startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { send } from '../http-client.ts';
import { adminCall, adminResult, teardown, tempState } from './stack.ts';

const TOKEN = 'e2e-rule-pools-token-0123456789';
const GEO = 'geo.rule-pools.e2e.test';
const RANDOM = 'random.rule-pools.e2e.test';
let state: string;
let worker: WranglerDev;
let origins: OriginServer[];

const originOf = async (host: string, path: string) => {
  const r = await send(`${worker.url}${path}`, { host });
  expect(r.status, r.body).toBe(200);
  return r.headers['x-origin'];
};
/** The origins that answered `n` requests to `path`. */
const answering = async (host: string, path: string, n = 30) => {
  const seen = new Set<unknown>();
  for (let i = 0; i < n; i++) seen.add(await originOf(host, path));
  return [...seen].sort();
};

const GEO_RULES = [
  { name: 'to-b-c', condition: 'starts_with(http.request.uri.path, "/bc/")', overrides: { pools: ['pb', 'pc'] } },
  { name: 'to-c', condition: 'starts_with(http.request.uri.path, "/c/")', overrides: { pools: ['pc'], steering_policy: 'geo' } },
];
const RANDOM_RULES = [
  { name: 'not-a', condition: 'starts_with(http.request.uri.path, "/not-a/")', overrides: { pool_weights: { pa: 0 }, pool_default_weight: 1 } },
  { name: 'only-c', condition: 'starts_with(http.request.uri.path, "/only-c/")', overrides: { pool_weights: { pc: 1 }, pool_default_weight: 0 } },
];
const everywhere = (pool: string) => Object.fromEntries(REGIONS.map((r) => [r, [pool]]));

beforeAll(async () => {
  state = tempState('rule-pools');
  origins = await startOrigins(['a', 'b', 'c']);
  worker = await startWranglerDev({ persistTo: state, vars: { ADMIN_TOKEN: TOKEN } });
  const res = await adminCall(worker.url, TOKEN, '/config', 'PUT', {
    pools: origins.map((o) => ({ id: `p${o.name}`, name: `p${o.name}`, origins: [{ name: o.name, address: '127.0.0.1', port: o.port }] })),
    load_balancers: [
      {
        id: 'geo',
        name: GEO,
        steering_policy: 'geo',
        default_pools: ['pa'],
        fallback_pool: 'pa',
        region_pools: everywhere('pa'),
        country_pools: { US: ['pa'], GB: ['pa'], DE: ['pa'] },
        pop_pools: { LHR: ['pa'], SFO: ['pa'] },
        per_try_timeout: 2,
        rules: GEO_RULES,
      },
      {
        id: 'random',
        name: RANDOM,
        steering_policy: 'random',
        default_pools: ['pa', 'pb', 'pc'],
        fallback_pool: 'pa',
        per_try_timeout: 2,
        rules: RANDOM_RULES,
      },
    ],
  });
  expect(res.status, res.body).toBe(200);
}, 60_000);

afterAll(() => teardown(worker, origins ?? [], state));

describe('rule overrides: pools, pool_weights, pool_default_weight', () => {
  it('pools sends the matched requests to exactly those pools, in order, although the geo maps send every place to a', async () => {
    expect(await answering(GEO, '/web', 5)).toEqual(['a']);
    expect(await answering(GEO, '/bc/x', 10)).toEqual(['b']);
    expect(await answering(GEO, '/c/x', 10)).toEqual(['c']); // with steering_policy geo in the same rule: still only pc
  });

  it('pools in failover order: with pool b disabled, the rule goes to c, never to the geo maps or fallback a', async () => {
    expect((await adminCall(worker.url, TOKEN, '/pools/pb', 'PATCH', { enabled: false })).status).toBe(200);
    try {
      expect(await answering(GEO, '/bc/x', 10)).toEqual(['c']);
    } finally {
      expect((await adminCall(worker.url, TOKEN, '/pools/pb', 'PATCH', { enabled: true })).status).toBe(200);
    }
  });

  it('pool_weights: a pool of weight 0 is never chosen; pool_default_weight 0 leaves only the weighted pool', async () => {
    expect(await answering(RANDOM, '/not-a/x')).not.toContain('a');
    expect(await answering(RANDOM, '/only-c/x')).toEqual(['c']);
  });

  it('what is written reads back exactly, in our format and in Cloudflare’s; a pool a rule uses cannot be deleted', async () => {
    const ours = await adminResult<{ load_balancers: { id: string; rules: { overrides: object }[] }[] }>(worker.url, TOKEN, '/config');
    const cf = await adminResult<{ load_balancers: { id: string; rules: { overrides: object }[] }[] }>(worker.url, TOKEN, '/config?format=cloudflare');
    for (const doc of [ours, cf]) {
      expect(doc.load_balancers.find((l) => l.id === 'geo')!.rules.map((r) => r.overrides)).toEqual(GEO_RULES.map((r) => r.overrides));
      expect(doc.load_balancers.find((l) => l.id === 'random')!.rules.map((r) => r.overrides)).toEqual(RANDOM_RULES.map((r) => r.overrides));
    }
    const removed = await adminCall(worker.url, TOKEN, '/pools/pc', 'DELETE');
    expect(removed.status).toBe(409);
    expect(removed.body).toContain('load balancer geo');
  });
});
