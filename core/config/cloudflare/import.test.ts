/**
 * Cloudflare's export (test/fixtures/cloudflare-export: three list answers, envelopes included)
 * made into our document by the pure code the import route runs: planImport → mergeImport →
 * importDocument → reportOf, and what it means for health.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NEW_ORIGIN, applyProbe } from '../../health/index.ts';
import { healthTargets } from '../../health/targets.ts';
import { emptyDocument, importDocument, type ConfigDocument, type WriteContext } from '../document.ts';
import { mergeImport, planImport, relocate, reportOf, type ImportPlan } from './import.ts';

const FIXTURES = new URL('../../../test/fixtures/cloudflare-export/', import.meta.url);
const fixture = (name: string) => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as { result: Record<string, unknown>[] };
const exportBody = () => ({ monitors: fixture('monitors.json'), pools: fixture('pools.json'), load_balancers: fixture('load-balancers.json') });
const ctx = { newId: () => 'new', now: () => '2026-01-01T00:00:00.000Z' };

function plan(body: unknown): ImportPlan {
  const outcome = planImport(body);
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
  return outcome.value;
}
/** The whole import into `current`: the stored document and the report, or the errors with request paths. */
function importInto(current: ConfigDocument, body: unknown, context: WriteContext = ctx) {
  const p = plan(body);
  const merged = mergeImport(current, p);
  const outcome = importDocument(current, merged.input, context);
  if (!outcome.ok) return { errors: relocate(outcome.errors, merged.at), status: outcome.status };
  return { doc: outcome.value, ...reportOf(p, merged, outcome.value) };
}
function imported(current: ConfigDocument = emptyDocument()) {
  const out = importInto(current, exportBody());
  if (!('doc' in out)) throw new Error(JSON.stringify(out.errors));
  return out as Required<typeof out>;
}

describe("Cloudflare's export imports", () => {
  it('whole, keeping ids, with nulls as unset, read-only fields dropped, proxied false where absent and newer fields stored as given', () => {
    const { doc, report } = imported();
    const ids = (kind: 'monitors' | 'pools' | 'load_balancers') => exportBody()[kind].result.map((o) => o.id);
    expect(report.imported).toEqual({ monitors: ids('monitors'), pools: ids('pools'), load_balancers: ids('load_balancers') });
    expect(doc.monitors.map((m) => m.id)).toEqual(ids('monitors'));
    const [m0, , icmp] = doc.monitors;
    expect(m0).toMatchObject({ port: 0, consecutive_up: 0, consecutive_down: 0, type: 'https', probe_zone: 'example.com' });
    expect(icmp).toMatchObject({ type: 'icmp_ping', method: 'GET' });
    const [p0, p1] = doc.pools;
    expect(p0).toMatchObject({ origin_steering: { policy: 'random' }, notification_filter: null, load_shedding: null, networks: ['cloudflare'] });
    expect(p0).not.toHaveProperty('check_regions');
    expect(p0!.origins[1]).toMatchObject({ virtual_network_id: 'a5624d4e-044a-4ff0-b3e1-e2465353d4b4', flatten_cname: false });
    expect(p1).toMatchObject({ health_sources: ['regional', 'global'], monitor_group: '5f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f', enabled: false });
    expect(p1).not.toHaveProperty('disabled_at');
    expect(p1!.origins[0]!.disabled_at).toBe(ctx.now());
    const [www, api] = doc.load_balancers;
    expect(www).toMatchObject({ proxied: true, pool_sets: exportBody().load_balancers.result[0]!.pool_sets, networks: ['cloudflare'] });
    expect(www).not.toHaveProperty('zone_name');
    expect(api).toMatchObject({ proxied: false, session_affinity: 'none' });
    expect(api!.session_affinity_ttl).toBeUndefined();
  });

  it('lists every field it dropped with its path in the request body, and warns about what is stored but not active', () => {
    const { report, messages } = imported();
    const ignored = report.ignored.map((i) => i.path);
    expect(ignored).toEqual(
      expect.arrayContaining([
        'monitors.result[0].created_on',
        'monitors.result[0].port',
        'pools.result[0].check_regions',
        'pools.result[0].health_sources',
        'pools.result[0].origin_steering',
        'pools.result[0].notification_email',
        'pools.result[1].disabled_at',
        'pools.result[1].origins[0].disabled_at',
        'load_balancers.result[0].zone_name',
        'load_balancers.result[1].session_affinity_ttl',
      ]),
    );
    expect(ignored.filter((p) => p.endsWith('.id'))).toEqual([]);
    expect(ignored.filter((p) => /notification_filter|load_shedding/.test(p))).toEqual([]);
    expect(messages).toEqual(
      expect.arrayContaining([
        'monitors.result[0].probe_zone: stored, not yet active',
        'monitors.result[2].type: icmp_ping cannot be probed from a Worker; stored, and pools using this monitor count as having none (their origins stay healthy)',
        'monitors.result[3].type: smtp cannot be probed from a Worker; stored, and pools using this monitor count as having none (their origins stay healthy)',
        'monitors.result[4].type: udp_icmp cannot be probed from a Worker; stored, and pools using this monitor count as having none (their origins stay healthy)',
        'pools.result[0].networks: stored, not yet active',
        'pools.result[0].origins[0].flatten_cname: stored, not yet active',
        'pools.result[0].origins[1].virtual_network_id: stored, not yet active',
        'pools.result[1].monitor_group: stored, not yet active',
        'pools.result[1].health_sources: stored, not yet active',
        'pools.result[1].notification_email: stored, not yet active',
        'pools.result[1].check_regions: stored, not yet active',
        'load_balancers.result[0].pool_sets: stored, not yet active',
        "load_balancers.result[1].proxied: absent, so Cloudflare's default applies: false (DNS-only); ours is true",
        "monitors.result[0].port: 0 probes the protocol's default port at Cloudflare, but each origin's port here (set in pools primary-dc-1): set the port to keep Cloudflare's behaviour",
      ]),
    );
  });

  it('counts a monitor no Worker can probe as none (origins stay healthy), and consecutive_up/down 0 as 1', () => {
    const { doc } = imported();
    const targets = healthTargets(doc, '699d98642c564d2e855e9661899b7252');
    const monitorOf = (name: string) => targets.pools.find((t) => t.pool.name === name)?.monitor?.type;
    expect([monitorOf('primary-dc-1'), monitorOf('secondary-dc-1'), monitorOf('fallback')]).toEqual(['https', undefined, 'tcp']);
    for (const [zero, one] of [
      [0, 1],
      [1, 1],
    ]) {
      const up = (n: number) =>
        applyProbe({ ...NEW_ORIGIN, verdict: 'unhealthy' }, { ok: true, rtt: 1, status: 200, reason: '' }, { consecutive_up: n, consecutive_down: n }, 1);
      const down = (n: number) =>
        applyProbe({ ...NEW_ORIGIN, verdict: 'healthy' }, { ok: false, rtt: 1, status: 500, reason: 'x' }, { consecutive_up: n, consecutive_down: n }, 1);
      expect([up(zero!).health.verdict, down(zero!).health.verdict]).toEqual([up(one!).health.verdict, down(one!).health.verdict]);
      expect([up(zero!).health.verdict, down(zero!).health.verdict]).toEqual(['healthy', 'unhealthy']);
    }
  });

  it('still refuses a typo (400 naming it) and names every error by its path in the request body', () => {
    const body = exportBody();
    body.pools.result[0]!.origns = [];
    (body.pools.result[1]!.origins as Record<string, unknown>[])[1]!.address = 'not an address!';
    const out = importInto(emptyDocument(), body);
    expect(out).toMatchObject({ status: 400 });
    expect(out.errors?.map((e) => e.message)).toEqual([
      'pools.result[0].origns: unknown field',
      'pools.result[1].origins[1].address: must be an IPv4 address, an IPv6 address or a hostname',
    ]);
  });

  it('replaces ours of the same id keeping our extensions, keeps everything else, and names a clash with a kept object', () => {
    const before = imported().doc;
    const ours = importDocument(
      before,
      {
        ...before,
        pools: before.pools.map((p, i) =>
          i === 0
            ? {
                ...p,
                outlier_detection: { consecutive_5xx: 9 },
                origin_steering: { policy: 'first', hash_key: { type: 'uri' } },
                origins: p.origins.map((o) => ({ ...o, drain: true })),
              }
            : p,
        ),
        load_balancers: [
          ...before.load_balancers.map((lb) => ({ ...lb, trace_header: true })),
          { id: 'mine', name: 'mine.example.com', default_pools: ['de90f38ced07c2e2f4df50b1f61d4194'], fallback_pool: 'de90f38ced07c2e2f4df50b1f61d4194' },
        ],
        webhooks: [{ id: 'w', name: 'ops', url: 'https://hooks.example.com/x', format: 'slack' }],
      },
      ctx,
    );
    if (!ours.ok) throw new Error(JSON.stringify(ours.errors));
    const again = imported(ours.value);
    expect(again.report.replaced.pools).toEqual(exportBody().pools.result.map((p) => p.id));
    expect(again.report.kept).toEqual({ monitors: [], pools: [], load_balancers: ['mine'] });
    const p0 = again.doc.pools[0]!;
    expect(p0.outlier_detection.consecutive_5xx).toBe(9);
    expect(p0.origin_steering).toEqual({ policy: 'first', hash_key: { type: 'uri' }, hash_algorithm: 'maglev' });
    expect(p0.origins.map((o) => o.drain)).toEqual([true, true]);
    expect(again.doc.load_balancers.map((lb) => lb.trace_header)).toEqual([true, true, false]);
    expect(again.doc.webhooks.map((w) => w.id)).toEqual(['w']);

    const clash = exportBody();
    clash.load_balancers.result[1]!.name = 'mine.example.com';
    expect(importInto(ours.value, clash)).toMatchObject({
      status: 409,
      errors: [
        { path: 'load_balancers.result[1].name', message: 'load_balancers.result[1].name: hostname "mine.example.com" is already used by load balancer mine' },
      ],
    });
  });

  it('names a problem of a kept object by its place in the stored config', () => {
    const ours = importDocument(emptyDocument(), { webhooks: [{ name: 'ops', url: 'https://hooks.example.com/x', secret: 'GONE' }] }, ctx);
    if (!ours.ok) throw new Error(JSON.stringify(ours.errors));
    const out = importInto(ours.value, exportBody(), { ...ctx, hasSecret: () => false });
    expect(out.errors?.map((e) => e.path)).toEqual(['config.webhooks[0].secret']);
  });
});

describe('planImport', () => {
  const errors = (body: unknown) => {
    const out = planImport(body);
    return out.ok ? [] : out.errors.map((e) => e.message);
  };

  it("refuses what is not Cloudflare's list answers, naming each problem", () => {
    expect(errors([])).toEqual(['must be an object {monitors, pools, load_balancers}']);
    expect(errors({ pool: [], monitors: {}, load_balancers: { success: false, errors: [{ code: 1000 }], messages: [], result: [] } })).toEqual([
      'pool: unknown field',
      "monitors: must be Cloudflare's list answer ({success, errors, messages, result: [...]}) or its result array",
      'load_balancers.success: is false: a failed Cloudflare answer has nothing to import',
    ]);
    expect(errors({ pools: [1, { id: 'a' }, { id: 'a' }] })).toEqual(['pools[0]: must be an object', 'pools[2].id: duplicate id "a" (also at pools[1])']);
  });

  it('takes bare arrays (paths without result) and warns when an envelope holds one page of several', () => {
    const p = plan({
      monitors: [{ id: 'm', port: null }],
      pools: { success: true, errors: [], messages: [], result: [], result_info: { count: 0, total_count: 30 } },
    });
    expect(p.ignored).toEqual([{ path: 'monitors[0].port', reason: 'null: unset at Cloudflare, so our default applies' }]);
    expect(p.messages).toEqual(['pools.result_info: 0 of 30 objects: only this page was imported (ask Cloudflare for every page)']);
  });
});
