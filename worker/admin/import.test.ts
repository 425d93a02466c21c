/**
 * Cloudflare's formats through the real Worker and ConfigStore (workerd): its export imported in
 * one call (`POST /admin/v1/import/cloudflare`, test/fixtures/cloudflare-export), the export in its
 * shapes (`GET /admin/v1/config?format=cloudflare`), the warnings of ordinary writes, and the
 * round trips over 1,000 generated documents: PUT then GET reads back the input with its defaults
 * made explicit, writing back what was read changes nothing, and our document → Cloudflare's
 * format → import changes nothing.
 */
import { SELF } from 'cloudflare:test';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validDocument } from '../../core/config/cloudflare/arbitrary.ts';
import { KINDS, READ_ONLY_FIELDS, SCHEMAS, type Kind } from '../../core/config/index.ts';
import loadBalancers from '../../test/fixtures/cloudflare-export/load-balancers.json';
import monitors from '../../test/fixtures/cloudflare-export/monitors.json';
import pools from '../../test/fixtures/cloudflare-export/pools.json';

const ADMIN = 'http://localhost/admin/v1';
type Answer<T = Record<string, unknown>> = { success: boolean; errors: { code: number; message: string; path?: string }[]; messages: string[]; result: T };
type Doc = Record<Kind, Record<string, unknown>[]> & { version: number };

async function call<T = Record<string, unknown>>(path: string, init: { method?: string; body?: unknown; token?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${init.token ?? 'test-admin-token'}` };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await SELF.fetch(`${ADMIN}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: await res.json<Answer<T>>() };
}
const config = async () => (await call<Doc>('/config')).body.result;
const importCloudflare = (body: unknown, token?: string) => call<Record<string, unknown>>('/import/cloudflare', { method: 'POST', body, token });
const put = (doc: unknown) => call<Doc>('/config', { method: 'PUT', body: doc });
/** JSON without what the server stamps (times, version). */
const timeless = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (k, v: unknown) => (['created_on', 'modified_on', 'disabled_at', 'version'].includes(k) ? undefined : v)));

describe("Cloudflare's export", () => {
  it('imports in one call: three envelopes, every nullable field, read-only and newer fields; ids kept; what was ignored and why', async () => {
    expect((await put({})).status).toBe(200);
    const { status, body } = await importCloudflare({ monitors, pools, load_balancers: loadBalancers });
    expect(status, JSON.stringify(body.errors)).toBe(200);
    const ids = (answer: { result: { id?: unknown }[] }) => answer.result.map((o) => o.id);
    expect(body.result).toMatchObject({
      imported: { monitors: ids(monitors), pools: ids(pools), load_balancers: ids(loadBalancers) },
      replaced: { monitors: [], pools: [], load_balancers: [] },
      kept: { monitors: [], pools: [], load_balancers: [] },
    });
    expect(body.result.ignored).toEqual(
      expect.arrayContaining([
        { path: 'load_balancers.result[0].zone_name', reason: 'read-only at Cloudflare (it sets this itself)' },
        { path: 'pools.result[0].origin_steering', reason: 'null: unset at Cloudflare, so our default applies' },
      ]),
    );
    expect(body.messages).toEqual(expect.arrayContaining(['load_balancers.result[0].pool_sets: stored, not yet active']));
    const doc = await config();
    expect(doc.version).toBe(body.result.version);
    expect(doc.load_balancers.map((lb) => [lb.name, lb.proxied])).toEqual([
      ['www.example.com', true],
      ['api.example.com', false],
    ]);
    expect(doc.pools[1]).toMatchObject({ monitor_group: '5f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f', health_sources: ['regional', 'global'] });

    // Again: every object replaced by itself, nothing else changes.
    const again = await importCloudflare({ monitors, pools, load_balancers: loadBalancers });
    expect(again.body.result.replaced).toEqual({ monitors: ids(monitors), pools: ids(pools), load_balancers: ids(loadBalancers) });
    expect(timeless(await config())).toEqual(timeless(doc));
  });

  it('refuses a read-only token (403) and a typo (400 naming its path in the body), storing nothing', async () => {
    expect((await put({})).status).toBe(200);
    const before = JSON.stringify(await config());
    expect((await importCloudflare({ monitors }, 'test-read-token')).status).toBe(403);
    const typo = { ...pools, result: pools.result.map((p, i) => (i === 2 ? { ...p, minimum_origin: 1 } : p)) };
    const refused = await importCloudflare({ monitors, pools: typo, load_balancers: loadBalancers });
    expect([refused.status, refused.body.errors]).toEqual([
      400,
      [{ code: 1001, path: 'pools.result[2].minimum_origin', message: 'pools.result[2].minimum_origin: unknown field' }],
    ]);
    const dangling = await importCloudflare({ load_balancers: loadBalancers });
    expect(dangling.status).toBe(400);
    expect(dangling.body.errors[0]!.message).toBe('load_balancers.result[0].default_pools[0]: unknown pool "17b5962d775c646f3f9725cbc7a53df4"');
    expect(JSON.stringify(await config())).toBe(before);
  });

  it("exports in Cloudflare's shapes, our extensions named in messages, and imports that back unchanged", async () => {
    expect((await importCloudflare({ monitors, pools, load_balancers: loadBalancers })).status).toBe(200);
    const ours = await config();
    const tuned = { ...ours, pools: ours.pools.map((p, i) => (i === 0 ? { ...p, outlier_detection: { consecutive_5xx: 2 } } : p)) };
    expect((await put(tuned)).status).toBe(200);
    const before = await config();
    const exported = await call<Record<string, Record<string, unknown>[]>>('/config?format=cloudflare');
    expect(exported.status).toBe(200);
    expect(Object.keys(exported.body.result)).toEqual(['monitors', 'pools', 'load_balancers']);
    expect(exported.body.result.pools![0]).not.toHaveProperty('outlier_detection');
    expect(exported.body.messages).toContain(
      'pools[0].outlier_detection: our extension ({"enabled":true,"consecutive_5xx":2,"consecutive_gateway_failure":5,"base_ejection_time":30,"max_ejection_time":300,"max_ejection_percent":10}), left out: Cloudflare has no equivalent',
    );
    expect((await call('/config?format=nginx')).status).toBe(400);
    expect((await importCloudflare(exported.body.result)).status).toBe(200);
    expect(timeless(await config())).toEqual(timeless(before));
  });

  it('warns on ordinary writes too: fields stored but not active, monitors no Worker can probe', async () => {
    const pool = await call('/pools', {
      method: 'POST',
      body: { name: 'p', networks: ['cloudflare'], origins: [{ name: 'a', address: '192.0.2.1', flatten_cname: true }] },
    });
    expect([pool.status, pool.body.messages]).toEqual([201, ['networks: stored, not yet active', 'origins[0].flatten_cname: stored, not yet active']]);
    const monitor = await call('/monitors', { method: 'POST', body: { type: 'smtp', port: 25 } });
    expect(monitor.body.messages).toEqual([
      'type: smtp cannot be probed from a Worker; stored, and pools using this monitor count as having none (their origins stay healthy)',
    ]);
    const whole = await put({ monitors: [{ id: 'm', type: 'icmp_ping', consecutive_up: 0, port: null }] });
    expect([whole.status, whole.body.messages]).toEqual([
      200,
      ['monitors[0].type: icmp_ping cannot be probed from a Worker; stored, and pools using this monitor count as having none (their origins stay healthy)'],
    ]);
  });
});

/** `input` with our defaults made explicit, read-only fields dropped: what GET must answer (times aside). */
function normalised(input: Record<Kind, Record<string, unknown>[]>): unknown {
  const doc = Object.fromEntries(
    KINDS.map((kind) => [
      kind,
      (input[kind] ?? []).map((raw) => {
        const value = SCHEMAS[kind].parse(raw) as Record<string, unknown>;
        for (const f of READ_ONLY_FIELDS) if (f !== 'id') delete value[f];
        return { id: raw.id, ...value };
      }),
    ]),
  );
  return timeless(doc);
}

describe('round trips through the Worker', () => {
  it('1,000 generated documents: PUT reads back normalised, written back unchanged; through Cloudflare’s format unchanged', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(validDocument, async (input) => {
        runs++;
        const written = await put(input);
        expect(written.status, JSON.stringify(written.body.errors)).toBe(200);
        const read = await config();
        expect(timeless(read)).toEqual(normalised(input as unknown as Record<Kind, Record<string, unknown>[]>));
        expect((await put(read)).status).toBe(200);
        const reread = await config();
        expect(JSON.stringify(timeless(reread))).toBe(JSON.stringify(timeless(read)));
        const exported = await call<Record<string, unknown>>('/config?format=cloudflare');
        const imported = await importCloudflare(exported.body.result);
        expect(imported.status, JSON.stringify(imported.body.errors)).toBe(200);
        expect(JSON.stringify(timeless(await config()))).toBe(JSON.stringify(timeless(read)));
      }),
      { numRuns: 1000, seed: 20260304 },
    );
    console.log(`round trips through the Worker: ${runs} documents`);
    expect(runs).toBeGreaterThanOrEqual(1000);
    await put({}); // no LbState keeps probing what the last document named
  }, 600_000);
});
