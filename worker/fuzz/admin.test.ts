/**
 * Generated hostile and careless admin inputs against the real Worker in workerd (fast-check,
 * fixed seed, ≥ 1,000 inputs per run; `npm run fuzz` runs more): no input gets a 5xx, every 4xx
 * comes in the v4 envelope, and a write that is refused leaves `GET /admin/v1/config`
 * byte-identical.
 */
import { SELF, env } from 'cloudflare:test';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adminInput, hugeInputs, type AdminInput } from './inputs.ts';

const ADMIN = 'http://localhost/admin/v1';
const auth = { authorization: 'Bearer test-admin-token' };
// `npm run fuzz` passes FUZZ_RUNS and FUZZ_SEED through the test bindings (vitest.config.ts).
const fuzzEnv = env as unknown as { FUZZ_RUNS?: string; FUZZ_SEED?: string };
const RUNS = Number(fuzzEnv.FUZZ_RUNS || 1000);
const SEED = Number(fuzzEnv.FUZZ_SEED || 20261121);

const send = (i: AdminInput) => SELF.fetch(`${ADMIN}${i.path}`, { method: i.method, headers: { ...auth, 'content-type': i.contentType }, body: i.body });
const configText = async () => (await SELF.fetch(`${ADMIN}/config`, { headers: auth })).text();

/** What one input did: its status, whether a 4xx came in the envelope, whether a refused write changed the config. */
async function probe(i: AdminInput, tally: { inputs: number; fiveXx: number; partial: number; broken: number; statuses: Map<number, number> }) {
  const before = await configText();
  const res = await send(i);
  const text = await res.text();
  tally.inputs++;
  tally.statuses.set(res.status, (tally.statuses.get(res.status) ?? 0) + 1);
  if (res.status >= 500) tally.fiveXx++;
  expect(res.status, `${i.method} ${i.path} ${String(i.body).slice(0, 200)} → ${text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status < 300 && i.method !== 'GET') await trafficSurvives(tally);
  if (res.status >= 400) {
    const body = JSON.parse(text) as { success: boolean; errors: { code: number; message: string }[]; result: unknown };
    expect(body.success).toBe(false);
    expect(body.errors.length).toBeGreaterThan(0);
    expect(body.result).toBeNull();
    if (i.method !== 'GET') {
      const after = await configText();
      if (after !== before) tally.partial++;
      expect(after, `${i.method} ${i.path}: a refused write changed the config`).toBe(before);
    }
  }
}

/** Config that validation accepted must not break traffic: a request to every load balancer gets no 500 or 502 of ours. */
async function trafficSurvives(tally: { broken: number }) {
  const doc = JSON.parse(await configText()) as { result: { load_balancers: { name: string; session_affinity_attributes?: { headers: string[] } }[] } };
  for (const lb of doc.result.load_balancers) {
    const host = lb.name.replace(/^\*\./, 'any.');
    const headers: Record<string, string> = { cookie: '__cflb=x; a=b' };
    for (const h of lb.session_affinity_attributes?.headers ?? []) if (!h.startsWith('cookie:')) headers[h] = 'session';
    const res = await SELF.fetch(`http://${host}/`, { headers });
    await res.body?.cancel();
    if (res.status === 500 || res.status === 502) tally.broken++;
    expect(res.status, `traffic to ${host} after an accepted write`).not.toBe(500);
  }
}

describe('admin API fuzz', () => {
  it(`${RUNS} generated inputs: 0 × 5xx, every 4xx in the envelope, refused writes change nothing`, async () => {
    const tally = { inputs: 0, fiveXx: 0, partial: 0, broken: 0, statuses: new Map<number, number>() };
    // A load balancer the explainer inputs can name.
    await send({
      method: 'PUT',
      path: '/config',
      contentType: 'application/json',
      body: JSON.stringify({
        pools: [{ id: 'p', name: 'p', origins: [{ name: 'o', address: '127.0.0.1' }] }],
        load_balancers: [
          {
            id: 'fuzz-lb',
            name: 'fuzz.example.com',
            default_pools: ['p'],
            fallback_pool: 'p',
            session_affinity: 'header',
            session_affinity_attributes: { headers: ['x-s'] },
          },
        ],
      }),
    });
    await fc.assert(
      fc.asyncProperty(adminInput, (i) => probe(i, tally)),
      { numRuns: RUNS, seed: SEED },
    );
    await fc.assert(
      fc.asyncProperty(hugeInputs, (i) => probe(i, tally)),
      { numRuns: 2, seed: SEED },
    );
    console.log(
      `fuzz: ${tally.inputs} inputs (seed ${SEED}), ${tally.fiveXx} × 5xx, ${tally.partial} partial writes, ${tally.broken} load balancers broken by accepted config; statuses ${JSON.stringify(Object.fromEntries(tally.statuses))}`,
    );
    expect(tally.fiveXx).toBe(0);
    expect(tally.broken).toBe(0);
    expect(tally.partial).toBe(0);
    expect(tally.inputs).toBeGreaterThanOrEqual(RUNS);
  }, 300_000);
});
