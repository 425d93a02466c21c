import { runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import {
  DnsZoneSchema,
  LoadBalancerSchema,
  MonitorSchema,
  PoolSchema,
  type DnsZone,
  type LoadBalancer,
  type Monitor,
  type Pool,
} from '../../core/config/index.ts';
import type { Targets } from '../../core/rpc/index.ts';
import { memoryProvider, type MemoryProvider } from '../../dns/memory/index.ts';
import { ProviderError, type DnsProvider } from '../../dns/provider.ts';
import { T0, fakeClock, hook, stubOf } from '../../test/fixtures/lb-state.ts';
import { DEBOUNCE_MS, RESYNC_MS } from './dns.ts';

const ports = inject('probePorts');
const stored = { created_on: '', modified_on: '' };
const zone = (provider: object = { type: 'rfc2136', server: '127.0.0.1', tsig_key_name: 'edge-lb', tsig_secret: 'DNS_TSIG_TEST' }) =>
  ({ ...DnsZoneSchema.parse({ name: 'example.com', provider }), id: 'z1', ...stored }) as DnsZone;
// Passive health makes the transitions: one 5xx ejects an origin for 30 s, any share of a pool.
const poolOf = (id: string, addresses: string[], more: object = {}) =>
  ({
    ...PoolSchema.parse({
      name: id,
      origins: addresses.map((address, i) => ({ name: `${id}${i + 1}`, address })),
      outlier_detection: { consecutive_5xx: 1, base_ejection_time: 30, max_ejection_percent: 100 },
      ...more,
    }),
    id,
    ...stored,
  }) as Pool;
const lbOf = (id: string, more: object = {}) =>
  ({
    ...LoadBalancerSchema.parse({ name: 'app.example.com', proxied: false, ttl: 30, default_pools: ['a'], fallback_pool: 'c', dns: { zone: 'z1' }, ...more }),
    id,
    ...stored,
  }) as LoadBalancer;
const targets = (id: string, lb: object = {}, pools = [poolOf('a', ['192.0.2.1', '192.0.2.2']), poolOf('c', ['203.0.113.1'])]): Targets => ({
  lbId: id,
  lb: lbOf(id, lb),
  dnsZone: zone(),
  pools: pools.map((pool) => ({ pool })),
});
const fail = (poolId: string, origin: string) => ({ poolId, origin, outcome: '5xx' as const, count: 1 });
const published = (p: MemoryProvider) =>
  p.zone
    .recordsAt('app.example.com')
    .map((r) => `${r.type} ${r.content} ${r.ttl}`)
    .sort();

/** An LbState named `id` with a fake clock and the given provider; `step(t)` moves the clock to T0 + t and runs the alarm, then waits for the DNS run. */
async function setup(id: string, provider: DnsProvider) {
  const clock = fakeClock();
  await hook(id, { clock, dnsProvider: () => provider });
  const lb = stubOf(id);
  const step = async (t: number) => {
    clock.t = T0 + t;
    await runDurableObjectAlarm(lb);
    await hook(id);
  };
  return { clock, lb, step };
}

describe('DNS failover in LbState', () => {
  it('publishes on sync, follows a transition after the debounce, merges transitions within a second, sends nothing when nothing changed, repairs drift', async () => {
    const provider = memoryProvider('example.com');
    const { clock, lb, step } = await setup('dns-basic', provider);
    await lb.sync(targets('dns-basic'));
    await step(0);
    expect(published(provider)).toEqual(['A 192.0.2.1 30', 'A 192.0.2.2 30']);
    let status = await lb.dnsStatus();
    expect(status).toMatchObject({ published: true, zone: 'example.com', name: 'app.example.com', lastSuccess: { at: T0, changes: 2, records: 2 } });
    expect(status.nextDueAt).toBe(T0 + RESYNC_MS);

    // Two transitions within a second: one run, one debounce after the last run.
    clock.t = T0 + 100;
    expect((await lb.report([fail('a', 'a1')])).ejected).toEqual(['a1']);
    expect((await lb.dnsStatus()).nextDueAt).toBe(T0 + DEBOUNCE_MS);
    clock.t = T0 + 300;
    await lb.report([fail('c', 'c1')]);
    expect((await lb.dnsStatus()).nextDueAt).toBe(T0 + DEBOUNCE_MS);
    const applies = provider.calls.apply;
    await step(DEBOUNCE_MS);
    expect(provider.calls.apply).toBe(applies + 1);
    expect(published(provider)).toEqual(['A 192.0.2.2 30']);
    status = await lb.dnsStatus();
    expect(status.lastSuccess).toEqual({ at: T0 + DEBOUNCE_MS, changes: 1, records: 1 });
    // The next run is when a1's ejection runs out (no event marks that), not 5 minutes later.
    expect(status.nextDueAt).toBe(T0 + 100 + 30_000);

    await step(100 + 30_000);
    expect(published(provider)).toEqual(['A 192.0.2.1 30', 'A 192.0.2.2 30']);
    // A full run with nothing to change reads and sends nothing.
    const before = { ...provider.calls };
    await step(100 + 30_000 + RESYNC_MS);
    expect(provider.calls).toEqual({ read: before.read + 1, apply: before.apply });
    expect((await lb.dnsStatus()).lastSuccess).toMatchObject({ changes: 0, records: 2 });
    // Someone edits our record behind our back: the next full run puts it back.
    const [ours] = provider.zone.recordsAt('app.example.com');
    provider.zone.alter(ours!.id, '198.51.100.99');
    await step(100 + 30_000 + 2 * RESYNC_MS);
    expect(published(provider)).toEqual(['A 192.0.2.1 30', 'A 192.0.2.2 30']);
    const { events } = await lb.events(50);
    expect(events.filter((e) => e.reason.startsWith('dns:')).map((e) => e.reason)).toContain(
      'dns: app.example.com → A 192.0.2.2 (pool a, healthy; 1 change(s))',
    );
  });

  it('publishes the fallback pool when nothing is usable', async () => {
    const provider = memoryProvider('example.com');
    const { clock, lb, step } = await setup('dns-fallback', provider);
    await lb.sync(targets('dns-fallback'));
    clock.t = T0 + 10;
    expect((await lb.report([fail('a', 'a1'), fail('a', 'a2'), fail('c', 'c1')])).ejected).toEqual(['a1', 'a2', 'c1']);
    await step(DEBOUNCE_MS);
    expect(published(provider)).toEqual(['A 203.0.113.1 30']);
    expect((await lb.dnsStatus()).desired).toMatchObject({ pool: 'c', basis: 'fallback' });
    // The ejections run out: the default pool again.
    await step(10 + 30_000);
    expect(published(provider)).toEqual(['A 192.0.2.1 30', 'A 192.0.2.2 30']);
  });

  it('follows a real probe transition: the monitored pool goes down, the next pool is published', async () => {
    const provider = memoryProvider('example.com');
    const { lb, step } = await setup('dns-probe', provider);
    const monitor = { ...MonitorSchema.parse({ path: '/ok', interval: 5, timeout: 1, retries: 0 }), id: 'm1', ...stored } as Monitor;
    const down = poolOf('a', ['127.0.0.1'], { monitor: 'm1' });
    down.origins[0]!.port = ports.closed;
    const t = {
      ...targets('dns-probe', { default_pools: ['a', 'b'] }),
      pools: [{ pool: down, monitor }, { pool: poolOf('b', ['192.0.2.7']) }, { pool: poolOf('c', ['203.0.113.1']) }],
    };
    await lb.sync(t);
    await step(0); // first probe (fails) and the first DNS run, in one alarm
    await step(DEBOUNCE_MS);
    expect(published(provider)).toEqual(['A 192.0.2.7 30']);
  });

  it('backs off a failing provider, logs the reason once, keeps the records, and logs the recovery', async () => {
    const inner = memoryProvider('example.com');
    let failures = 2;
    const provider: DnsProvider = {
      kind: 'flaky',
      read: (n, o) => inner.read(n, o),
      apply: async (c) => {
        if (failures-- > 0) throw new ProviderError('unreachable', 'no answer from 127.0.0.1:53 within 5000 ms');
        return inner.apply(c);
      },
    };
    const { lb, step } = await setup('dns-fail', provider);
    await lb.sync(targets('dns-fail'));
    await step(0);
    let status = await lb.dnsStatus();
    expect(status.lastError).toEqual({ at: T0, kind: 'unreachable', message: 'no answer from 127.0.0.1:53 within 5000 ms', failures: 1 });
    expect(status.nextDueAt).toBe(T0 + 1000); // schedule.ts backoffMs(1), no jitter
    expect(published(inner)).toEqual([]);
    await step(1000);
    status = await lb.dnsStatus();
    expect(status.lastError?.failures).toBe(2);
    expect(status.nextDueAt).toBe(T0 + 1000 + 2000);
    await step(3000);
    status = await lb.dnsStatus();
    expect(status.lastError).toBeUndefined();
    expect(published(inner)).toEqual(['A 192.0.2.1 30', 'A 192.0.2.2 30']);
    const reasons = (await lb.events(50)).events.map((e) => `${e.origin} ${e.from}->${e.to}: ${e.reason}`).reverse();
    expect(reasons).toEqual([
      'app.example.com published->failing: dns example.com (unreachable): no answer from 127.0.0.1:53 within 5000 ms',
      'app.example.com failing->published: dns: recovered after 2 failure(s)',
      'app.example.com unpublished->published: dns: app.example.com → A 192.0.2.1, A 192.0.2.2 (pool a, healthy; 2 change(s))',
    ]);
  });

  it('waits at least what a rate limit asks', async () => {
    const inner = memoryProvider('example.com');
    const provider: DnsProvider = {
      kind: 'limited',
      read: (n, o) => inner.read(n, o),
      apply: () => Promise.reject(new ProviderError('rate_limited', 'HTTP 429 (code 971): too many requests', 45_000)),
    };
    const { lb, step } = await setup('dns-429', provider);
    await lb.sync(targets('dns-429'));
    await step(0);
    expect(await lb.dnsStatus()).toMatchObject({ nextDueAt: T0 + 45_000, lastError: { kind: 'rate_limited', failures: 1 } });
  });

  it('re-reads and re-plans once at once after a conflict', async () => {
    const inner = memoryProvider('example.com');
    let race = false;
    let reads = 0;
    const provider: DnsProvider = {
      kind: 'racy',
      read: async (n, o) => {
        reads++;
        const state = await inner.read(n, o);
        // Another writer edits our record between our read and our apply.
        if (race) ((race = false), inner.zone.alter(state.records[0]!.id!, '198.51.100.9'));
        return state;
      },
      apply: (c) => inner.apply(c),
    };
    const { clock, lb, step } = await setup('dns-conflict', provider);
    await lb.sync(targets('dns-conflict'));
    await step(0);
    race = true;
    reads = 0;
    clock.t = T0 + 10;
    await lb.report([fail('a', 'a1')]);
    await step(DEBOUNCE_MS);
    expect(reads).toBe(2);
    expect(published(inner)).toEqual(['A 192.0.2.2 30']);
    expect((await lb.dnsStatus()).lastError).toBeUndefined();
  });

  it('removes what it owns when the load balancer stops being published, leaves foreign records alone, then stops', async () => {
    const provider = memoryProvider('example.com');
    const { lb, step } = await setup('dns-remove', provider);
    await lb.sync(targets('dns-remove'));
    await step(0);
    provider.zone.plant({ name: 'app.example.com', type: 'A', content: '198.51.100.5', ttl: 300 }); // someone else's
    await lb.sync(targets('dns-remove', { proxied: true }));
    await step(DEBOUNCE_MS);
    expect(published(provider)).toEqual(['A 198.51.100.5 300']);
    expect(await lb.dnsStatus()).toMatchObject({ published: false, records: [], stale: [], nextDueAt: null, lastSuccess: { changes: 2, records: 0 } });
    // Published again: the foreign record blocks it (an error, nothing sent).
    await lb.sync(targets('dns-remove'));
    await step(2 * DEBOUNCE_MS);
    expect((await lb.dnsStatus()).lastError).toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/holds 1 address or CNAME record\(s\) that are not ours/),
    });
    expect(published(provider)).toEqual(['A 198.51.100.5 300']);
  });

  it('an unset secret binding is an error in the status and the log; nothing is sent', async () => {
    const clock = fakeClock();
    await hook('dns-secret', { clock }); // the real factory: rfc2136 over cloudflare:sockets
    const lb = stubOf('dns-secret');
    await lb.sync(targets('dns-secret'));
    clock.t = T0;
    await runDurableObjectAlarm(lb);
    await hook('dns-secret');
    const status = await lb.dnsStatus();
    expect(status.lastError).toMatchObject({
      kind: 'auth',
      message: 'secret binding DNS_TSIG_TEST of zone example.com is not set (wrangler secret put DNS_TSIG_TEST; locally .dev.vars)',
    });
    expect((await lb.events(1)).events[0]!.reason).toBe(`dns example.com (auth): ${status.lastError!.message}`);
  });
});
