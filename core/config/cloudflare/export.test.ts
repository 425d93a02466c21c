/**
 * Our schemas and Cloudflare's, compared field by field against the official SDK's type
 * declarations (npm `cloudflare`, read from node_modules at test time, so a new SDK version with a
 * new field fails here), and the export in Cloudflare's shapes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { emptyDocument, importDocument, type ConfigDocument } from '../document.ts';
import { LoadBalancerSchema, MonitorSchema, OriginSchema, PoolSchema } from '../schema.ts';
import { EXTENSIONS, LEFT_OUT_SUMMARY, toCloudflare } from './export.ts';
import { NULL_MEANS_UNSET } from './fields.ts';

const SDK = new URL('../../../node_modules/cloudflare/resources/load-balancers/', import.meta.url);
const FIXTURES = new URL('../../../test/fixtures/cloudflare-export/', import.meta.url);

/** The properties of `export interface <name>` in an SDK declaration file, each with whether it admits null. */
function sdkFields(file: string, name: string): Map<string, boolean> {
  const text = readFileSync(new URL(file, SDK), 'utf8');
  const start = text.indexOf(`export interface ${name} {`);
  expect(start, `${file} declares ${name}`).toBeGreaterThan(0);
  const body = text.slice(start, text.indexOf('\n}', start));
  return new Map([...body.matchAll(/^ {4}(\w+)\?: (.*)$/gm)].map((m) => [m[1]!, m[2]!.includes('| null')]));
}
const CLOUDFLARE = {
  monitors: sdkFields('monitors/monitors.d.ts', 'Monitor'),
  pools: sdkFields('pools/pools.d.ts', 'Pool'),
  origins: sdkFields('load-balancers.d.ts', 'Origin'),
  load_balancers: sdkFields('load-balancers.d.ts', 'LoadBalancer'),
};
const OURS = { monitors: MonitorSchema.in.shape, pools: PoolSchema.shape, origins: OriginSchema.shape, load_balancers: LoadBalancerSchema.shape };
const EXTENSION_FIELDS = { monitors: [], pools: EXTENSIONS.pools, origins: EXTENSIONS.origins, load_balancers: EXTENSIONS.load_balancers };
const fixture = (name: string) => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as { result: Record<string, unknown>[] };
const FIXTURE = { monitors: fixture('monitors.json'), pools: fixture('pools.json'), load_balancers: fixture('load-balancers.json') };
const kinds = ['monitors', 'pools', 'origins', 'load_balancers'] as const;

describe("our schemas and the SDK's types", () => {
  it('the SDK declares what we expect to read (the parser works)', () => {
    expect(CLOUDFLARE.monitors.get('port')).toBe(true);
    expect(CLOUDFLARE.pools.get('check_regions')).toBe(true);
    expect(CLOUDFLARE.load_balancers.get('zone_name')).toBe(false);
    expect(CLOUDFLARE.origins.has('flatten_cname')).toBe(true);
  });

  it('accept every field Cloudflare has (so its export is never refused for a field), and have none but those and our extensions', () => {
    for (const kind of kinds) {
      expect(
        [...CLOUDFLARE[kind].keys()].filter((f) => !(f in OURS[kind])),
        `${kind}: Cloudflare's fields we lack`,
      ).toEqual([]);
      const ours = Object.keys(OURS[kind]).filter((f) => !CLOUDFLARE[kind].has(f));
      expect(ours.sort(), `${kind}: fields Cloudflare lacks`).toEqual([...EXTENSION_FIELDS[kind]].sort());
    }
  });

  it('call "our extension" exactly the fields the export leaves out', () => {
    for (const kind of kinds) {
      const described = Object.entries(OURS[kind] as Record<string, { description?: string }>).filter(([, s]) => s.description?.startsWith('our extension'));
      expect(described.map(([f]) => f).sort(), kind).toEqual([...EXTENSION_FIELDS[kind]].sort());
    }
  });

  it('accept null wherever the SDK admits it; NULL_MEANS_UNSET drops it, the others store it', () => {
    const minimal = {
      monitors: {},
      pools: { name: 'p', origins: [{ name: 'o', address: '192.0.2.1' }] },
      load_balancers: { name: 'a.example.com', default_pools: ['p'], fallback_pool: 'p' },
    };
    const schemas = { monitors: MonitorSchema, pools: PoolSchema, load_balancers: LoadBalancerSchema };
    for (const kind of ['monitors', 'pools', 'load_balancers'] as const) {
      const nullable = [...CLOUDFLARE[kind]].filter(([, n]) => n).map(([f]) => f);
      for (const f of new Set([...nullable, ...NULL_MEANS_UNSET[kind]])) {
        const parsed = schemas[kind].safeParse({ ...minimal[kind], [f]: null });
        expect(parsed.success, `${kind}.${f}: null → ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
        const value = (parsed.data as Record<string, unknown>)[f];
        expect(value, `${kind}.${f}`).toSatisfy((v) => ((NULL_MEANS_UNSET[kind] as readonly string[]).includes(f) ? v !== null : v === null));
      }
    }
  });

  it("the fixtures are shaped exactly like the SDK's types: no other field, every nullable one null somewhere, read-only and newer fields present", () => {
    const origins = FIXTURE.pools.result.flatMap((p) => p.origins as Record<string, unknown>[]);
    const objects = { ...Object.fromEntries(Object.entries(FIXTURE).map(([k, v]) => [k, v.result])), origins } as Record<
      (typeof kinds)[number],
      Record<string, unknown>[]
    >;
    for (const kind of kinds) {
      const keys = new Set(objects[kind].flatMap((o) => Object.keys(o)));
      expect(
        [...keys].filter((k) => !CLOUDFLARE[kind].has(k)),
        kind,
      ).toEqual([]);
      for (const [f, nullable] of CLOUDFLARE[kind])
        if (nullable)
          expect(
            objects[kind].some((o) => o[f] === null),
            `${kind}.${f} null somewhere`,
          ).toBe(true);
    }
    const present = (kind: (typeof kinds)[number], f: string) => objects[kind].some((o) => o[f] !== undefined && o[f] !== null);
    for (const f of ['zone_name', 'networks', 'pool_sets', 'created_on']) expect(present('load_balancers', f), f).toBe(true);
    for (const f of ['disabled_at', 'networks', 'notification_email', 'health_sources', 'monitor_group']) expect(present('pools', f), f).toBe(true);
    for (const f of ['disabled_at', 'flatten_cname', 'virtual_network_id']) expect(present('origins', f), f).toBe(true);
    expect(new Set(objects.monitors.map((m) => m.type))).toEqual(
      new Set(['http', 'https', 'tcp', 'icmp_ping', 'udp_icmp', 'smtp'].filter((t) => t !== 'http')),
    );
  });
});

describe("the export in Cloudflare's shapes", () => {
  const ctx = { newId: () => 'x', now: () => '2026-01-01T00:00:00.000Z' };
  const doc: ConfigDocument = (() => {
    const outcome = importDocument(
      emptyDocument(),
      {
        monitors: [{ id: 'm', type: 'https', port: null, consecutive_up: 0 }],
        pools: [
          {
            id: 'p',
            name: 'p',
            origin_steering: { policy: 'round_robin', hash_key: { type: 'header', name: 'x-user' } },
            outlier_detection: { consecutive_5xx: 3 },
            origins: [
              { name: 'a', address: '192.0.2.1', drain: true, flatten_cname: false },
              { name: 'b', address: '192.0.2.2' },
            ],
          },
          { id: 'q', name: 'q', origin_steering: { policy: 'hash' }, origins: [{ name: 'c', address: '192.0.2.3' }] },
        ],
        load_balancers: [{ id: 'lb', name: 'www.example.com', default_pools: ['p'], fallback_pool: 'q', trace_header: true, pool_sets: [{ name: 's' }] }],
        webhooks: [{ name: 'slack', url: 'https://hooks.example.com/x', format: 'slack' }],
      },
      ctx,
    );
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
    return outcome.value;
  })();

  it("has only the SDK's fields, Cloudflare's values kept as stored (ids, nulls, newer fields)", () => {
    const out = toCloudflare(doc);
    const lists = { monitors: out.monitors, pools: out.pools, origins: out.pools.flatMap((p) => p.origins ?? []), load_balancers: out.load_balancers };
    for (const kind of kinds) {
      for (const o of lists[kind])
        expect(
          Object.keys(o).filter((k) => !CLOUDFLARE[kind].has(k)),
          kind,
        ).toEqual([]);
    }
    expect(out.monitors[0]).toMatchObject({ id: 'm', type: 'https', port: 0, consecutive_up: 0 });
    expect(out.pools[0]!.origin_steering).toBeUndefined();
    expect(out.pools[1]!.origin_steering).toEqual({ policy: 'hash' });
    expect(out.pools[0]!.origins![0]).toMatchObject({ name: 'a', flatten_cname: false, disabled_at: '2026-01-01T00:00:00.000Z' });
    expect(out.load_balancers[0]).toMatchObject({ id: 'lb', proxied: true, pool_sets: [{ name: 's' }] });
  });

  it('names in messages what it leaves out: every extension once, then each value that differs from our default', () => {
    expect(toCloudflare(doc).messages).toEqual([
      LEFT_OUT_SUMMARY,
      'webhooks: 1 left out (ours: Cloudflare Load Balancing has no webhooks)',
      'pools[0].outlier_detection: our extension ({"enabled":true,"consecutive_5xx":3,"consecutive_gateway_failure":5,"base_ejection_time":30,"max_ejection_time":300,"max_ejection_percent":10}), left out: Cloudflare has no equivalent',
      'pools[0].origin_steering.hash_key: our extension ({"type":"header","name":"x-user"}), left out: Cloudflare has no equivalent',
      'pools[0].origin_steering.policy: round_robin is ours, left out (Cloudflare then steers at random)',
      'pools[0].origins[0].drain: our extension (true), left out: Cloudflare has no equivalent',
      'load_balancers[0].trace_header: our extension (true), left out: Cloudflare has no equivalent',
    ]);
    for (const f of [...EXTENSIONS.load_balancers, ...EXTENSIONS.pools, 'dns_zones', 'webhooks']) expect(LEFT_OUT_SUMMARY).toContain(f);
  });
});
