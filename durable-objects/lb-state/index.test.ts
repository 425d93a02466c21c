import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { T0, alarmAt, fakeClock, hook, query, stubOf } from '../../test/fixtures/lb-state.ts';
import { describe, expect, inject, it } from 'vitest';
import { MonitorSchema, PoolSchema, type Monitor, type Pool } from '../../core/config/index.ts';
import type { HealthSnapshot, Targets } from '../../core/rpc/index.ts';
import { migrate as runMigrations } from '../migrate.ts';
import type { LbState } from './index.ts';
import { MIGRATIONS } from './migrations.ts';

const ports = inject('probePorts');
const stored = { created_on: '', modified_on: '' };
const monitorOf = (m: object = {}) =>
  ({ ...MonitorSchema.parse({ path: '/ok', interval: 5, timeout: 1, retries: 0, consecutive_down: 1, ...m }), id: 'm1', ...stored }) as Monitor;
const monitor = monitorOf();
const poolOf = (id: string, origins: { name: string; port: number }[], od: object = {}) =>
  ({
    ...PoolSchema.parse({
      name: id,
      monitor: 'm1',
      origins: origins.map((o) => ({ ...o, address: '127.0.0.1' })),
      outlier_detection: { consecutive_5xx: 3, base_ejection_time: 30, max_ejection_percent: 34, ...od },
    }),
    id,
    ...stored,
  }) as Pool;
const pool = () =>
  poolOf('p1', [
    { name: 'up', port: ports.http },
    { name: 'down', port: ports.closed },
    { name: 'third', port: ports.http },
  ]);
const targets = (lbId: string, m: Monitor | undefined = monitor): Targets => ({ lbId, pools: [{ pool: pool(), monitor: m }] });

describe('LbState', () => {
  it('arms its alarm on sync, probes when it fires, records transitions and bumps the version', async () => {
    const clock = fakeClock();
    await hook('lb-probe', { clock });
    const lb = stubOf('lb-probe');
    // First probes are due at once (no jitter here); the alarm is never set at or before now.
    expect(await lb.sync(targets('lb-probe'))).toEqual({ origins: 3, nextAlarm: T0 + 1 });
    expect(await runDurableObjectAlarm(lb)).toBe(true);
    const records = await lb.records();
    expect(Object.fromEntries(records.map((r) => [r.origin, [r.health.verdict, r.usable, r.health.lastCheckAt]]))).toEqual({
      up: ['healthy', true, T0],
      down: ['unhealthy', false, T0],
      third: ['healthy', true, T0],
    });
    const snap = (await lb.snapshot(-1)) as HealthSnapshot;
    expect(snap.version).toBe(1); // one bump for the round
    expect(snap.origins.p1?.down).toEqual({ verdict: 'unhealthy', ejectedUntil: 0 });
    expect(snap.latency.probe!.p1).toBeGreaterThanOrEqual(0); // passing probes' RTT, for dynamic_latency
    expect(await lb.snapshot(snap.version)).toEqual({ version: snap.version });
    const { events } = await lb.events(10);
    expect(events.map((e) => `${e.origin}:${e.from}->${e.to}`).sort()).toEqual(['down:unknown->unhealthy', 'third:unknown->healthy', 'up:unknown->healthy']);
    expect(events.find((e) => e.origin === 'down')!.reason).toMatch(/^connection failed/);
    expect(await alarmAt('lb-probe')).toBe(T0 + 5000); // next round one interval after this one started
  });

  it('ejects on consecutive 5xx reported by edges, within max_ejection_percent, and logs it', async () => {
    await hook('lb-passive', { clock: fakeClock() });
    const lb = stubOf('lb-passive');
    await lb.sync(targets('lb-passive'));
    const out = await lb.report([
      { poolId: 'p1', origin: 'up', outcome: '5xx', count: 3 },
      { poolId: 'p1', origin: 'third', outcome: '5xx', count: 3 },
      { poolId: 'p1', origin: 'down', outcome: 'success', count: 10 },
    ]);
    expect(out.ejected).toEqual(['up']); // 34% of 3 origins: one
    const snap = (await lb.snapshot(-1)) as HealthSnapshot;
    expect(snap.origins.p1!.up!.ejectedUntil).toBe(T0 + 30_000);
    const { events } = await lb.events(10);
    expect(events[0]).toMatchObject({ origin: 'up', from: 'in rotation', to: 'ejected' });
    expect((await lb.records()).find((r) => r.origin === 'down')!.total).toBe(10);
    // The columns hold what routing needs.
    expect(await query('lb-passive', "SELECT origin, verdict, ejected_until FROM origin_health WHERE origin = 'up'")).toEqual([
      { origin: 'up', verdict: 'unknown', ejected_until: T0 + 30_000 },
    ]);
  });

  it('lifts an ejection when the prober saw the origin go down and come back (Envoy uneject)', async () => {
    const clock = fakeClock();
    await hook('lb-uneject', { clock });
    const lb = stubOf('lb-uneject');
    await lb.sync(targets('lb-uneject', monitorOf({ path: '/fail' })));
    await runDurableObjectAlarm(lb);
    expect((await lb.records()).find((r) => r.origin === 'up')!.health.verdict).toBe('unhealthy');
    expect((await lb.report([{ poolId: 'p1', origin: 'up', outcome: 'gateway_failure', count: 5 }])).ejected).toEqual(['up']);
    await lb.sync(targets('lb-uneject')); // the origin "comes back"
    clock.t = T0 + 5000; // its next probe: one interval later
    await runDurableObjectAlarm(lb);
    const up = (await lb.records()).find((r) => r.origin === 'up')!;
    expect(up.health).toMatchObject({ verdict: 'healthy', ejectedUntil: 0, timesEjected: 1 });
    const { events } = await lb.events(20);
    expect(
      events
        .filter((e) => e.origin === 'up')
        .slice(0, 2)
        .map((e) => `${e.from}->${e.to}`),
    ).toEqual(['ejected->in rotation', 'unhealthy->healthy']);
  });

  it('marks an origin down when its probe cannot even be built (a header value with a newline)', async () => {
    await hook('lb-unbuildable', { clock: fakeClock() });
    const lb = stubOf('lb-unbuildable');
    // The schema now refuses such a value; a monitor stored before it did still reaches LbState.
    await lb.sync(targets('lb-unbuildable', { ...monitor, header: { 'X-Probe': ['a\nb'] } }));
    await runDurableObjectAlarm(lb);
    const records = await lb.records();
    expect(records.map((r) => [r.origin, r.health.verdict])).toEqual([
      ['up', 'unhealthy'],
      ['down', 'unhealthy'],
      ['third', 'unhealthy'],
    ]);
    expect(records[0]!.health.failureReason).toMatch(/^probe could not be built: /);
    expect(await alarmAt('lb-unbuildable')).toBe(T0 + 5000); // and probes go on
  });

  it('keeps the header-affinity table: first claim wins, replace re-pins, idle TTL expires', async () => {
    const clock = fakeClock();
    await hook('lb-affinity', { clock });
    const lb = stubOf('lb-affinity');
    expect(await lb.affinityPut('k', 'p1', 'up', 60_000)).toEqual({ poolId: 'p1', origin: 'up' });
    expect(await lb.affinityPut('k', 'p1', 'third', 60_000)).toEqual({ poolId: 'p1', origin: 'up' });
    expect(await lb.affinityPut('k', 'p1', 'third', 60_000, true)).toEqual({ poolId: 'p1', origin: 'third' });
    expect(await lb.affinityGet('k')).toEqual({ poolId: 'p1', origin: 'third', expiresAt: T0 + 60_000 });
    await lb.affinityPut('short', 'p1', 'up', 50);
    clock.t = T0 + 80;
    expect(await lb.affinityGet('short')).toBeUndefined();
  });

  it('caps the header-affinity table, evicting the sessions that expire soonest, and counts evictions', async () => {
    const clock = fakeClock();
    await hook('lb-affinity-cap', { clock, affinityMaxRows: 10 });
    const lb = stubOf('lb-affinity-cap');
    for (let i = 0; i < 10; i++) await lb.affinityPut(`k${i}`, 'p1', 'up', 1000 * (i + 1));
    await lb.affinityPut('k0', 'p1', 'up', 100_000); // used again: now the last to expire
    await lb.affinityPut('new', 'p1', 'up', 1000);
    expect(await lb.affinityGet('k1')).toBeUndefined(); // soonest to expire, evicted
    expect(await lb.affinityGet('k0')).toMatchObject({ origin: 'up' });
    expect((await lb.stats()).affinity).toEqual({ sessions: 10, max: 10, evicted: 1 });
    await evictDurableObject(lb);
    expect((await lb.stats()).affinity).toMatchObject({ sessions: 10, evicted: 1 }); // the counter is stored
  });

  it('pages the event log newest first', async () => {
    await hook('lb-pages', { clock: fakeClock() });
    const lb = stubOf('lb-pages');
    await lb.sync(targets('lb-pages'));
    await runDurableObjectAlarm(lb);
    const first = await lb.events(2);
    expect(first.events).toHaveLength(2);
    expect(first.next).toBeDefined();
    const second = await lb.events(2, first.next);
    expect(second.events).toHaveLength(1);
    expect(second.next).toBeUndefined();
    expect(first.events[0]!.id).toBeGreaterThan(first.events[1]!.id);
  });

  it('stops probing and disarms when synced with nothing to watch', async () => {
    await hook('lb-stop', { clock: fakeClock() });
    const lb = stubOf('lb-stop');
    await lb.sync(targets('lb-stop'));
    expect((await lb.sync({ lbId: 'lb-stop', pools: [] })).nextAlarm).toBeNull();
    expect(await lb.records()).toEqual([]);
    expect(await query('lb-stop', 'SELECT * FROM schedule')).toEqual([]);
    expect(await alarmAt('lb-stop')).toBeNull();
  });

  it('writes only the rows that changed: 2 for a report touching 2 of 1,000 origins', async () => {
    const clock = fakeClock();
    await hook('lb-rows', { clock });
    const lb = stubOf('lb-rows');
    const big = poolOf(
      'big',
      Array.from({ length: 998 }, (_, i) => ({ name: `o${i}`, port: ports.http })),
    );
    const small = poolOf('small', [
      { name: 'a', port: ports.http },
      { name: 'b', port: ports.http },
    ]);
    const watch: Targets = { lbId: 'lb-rows', pools: [{ pool: big }, { pool: small, monitor }] };
    expect((await lb.sync(watch)).origins).toBe(1000);
    const written = async () => (await lb.stats()).rowsWritten;

    let before = await written();
    await lb.sync(watch); // the cron watchdog's re-sync: nothing changed
    expect((await written()) - before).toBe(0);

    before = await written();
    await lb.report([
      { poolId: 'big', origin: 'o5', outcome: 'success', count: 3 },
      { poolId: 'big', origin: 'o700', outcome: '5xx', count: 1 },
    ]);
    expect((await written()) - before).toBe(2);
    expect((await lb.records()).filter((r) => r.total > 0).map((r) => [r.origin, r.total, r.health.consecutive5xx])).toEqual([
      ['o5', 3, 0],
      ['o700', 1, 1],
    ]);

    before = await written();
    await lb.sync({ ...watch, pools: [{ pool: { ...big, origins: [...big.origins, { ...big.origins[0]!, name: 'added' }] } }, { pool: small, monitor }] });
    expect((await written()) - before).toBe(3); // the new origin (row + primary-key index) and the targets

    await runDurableObjectAlarm(lb); // first round: 2 transitions
    clock.t = T0 + 5000;
    before = await written();
    await runDurableObjectAlarm(lb); // second round: no transition
    const probed = (await written()) - before;
    // Per probed origin: its health row and its schedule row (+ the due-time index); at most a
    // latency figure and the version besides.
    expect(probed).toBeGreaterThanOrEqual(2 * 3);
    expect(probed).toBeLessThanOrEqual(2 * 3 + 2);
  });

  it('previews a monitor on a preview object and stores nothing there', async () => {
    const lb = stubOf('preview:m1');
    const out = await lb.previewMonitor(monitor, [
      { name: 'a', address: '127.0.0.1', port: ports.http },
      { name: 'b', address: '127.0.0.1', port: ports.closed },
    ]);
    expect(out[0]).toMatchObject({ name: 'a', address: '127.0.0.1', port: ports.http, healthy: true, response_code: 200, failure_reason: null });
    expect(out[1]).toMatchObject({ name: 'b', healthy: false, response_code: null, failure_reason: expect.stringMatching(/^connection failed/) });
    expect(await query('preview:m1', "SELECT name FROM sqlite_master WHERE name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")).toEqual([]);
    expect(await alarmAt('preview:m1')).toBeNull();
  });

  it('keeps dynamic_latency figures across an eviction', async () => {
    await hook('lb-latency', { clock: fakeClock() });
    const lb = stubOf('lb-latency');
    await lb.sync(targets('lb-latency'));
    await lb.report([], [{ poolId: 'p1', places: ['colo:AMS', 'region:WEU'], meanMs: 40, count: 5 }]);
    expect(((await lb.snapshot(-1)) as HealthSnapshot).latency).toEqual({ 'colo:AMS': { p1: 40 }, 'region:WEU': { p1: 40 } });
    await evictDurableObject(lb);
    await hook('lb-latency', { clock: fakeClock(T0 + 60_000) });
    expect(((await lb.snapshot(-1)) as HealthSnapshot).latency).toEqual({ 'colo:AMS': { p1: 40 }, 'region:WEU': { p1: 40 } });
  });

  it('migrates a database of the previous schema: verdict and ejection become columns, probe times the schedule', async () => {
    const name = 'lb-migrate';
    const health = {
      verdict: 'unhealthy',
      passes: 0,
      failures: 2,
      changedAt: T0 - 10,
      rtt: 3,
      responseCode: 500,
      failureReason: 'HTTP 500',
      lastCheckAt: T0 - 10,
      consecutive5xx: 0,
      consecutiveGatewayFailure: 0,
      ejectedUntil: T0 + 9000,
      timesEjected: 1,
    };
    await runInDurableObject(stubOf(name), (_: LbState, state) => {
      runMigrations(state.storage.sql, MIGRATIONS.slice(0, 2));
      state.storage.sql.exec(
        'INSERT INTO origin_health (pool_id, origin, state, next_probe_at, total) VALUES (?, ?, ?, ?, ?)',
        'p1',
        'up',
        JSON.stringify(health),
        T0 + 2500.5,
        7,
      );
      state.storage.sql.exec("INSERT INTO meta (key, value) VALUES ('targets', ?), ('version', '4')", JSON.stringify(targets(name)));
    });
    await hook(name, { clock: fakeClock() });
    expect(await stubOf(name).records()).toEqual([{ poolId: 'p1', origin: 'up', health, total: 7, usable: false }]);
    expect(await query(name, 'SELECT verdict, ejected_until FROM origin_health')).toEqual([{ verdict: 'unhealthy', ejected_until: T0 + 9000 }]);
    expect(await query(name, 'SELECT kind, key, due_at FROM schedule')).toEqual([{ kind: 'probe', key: 'p1/up', due_at: T0 + 2501 }]);
    expect((await stubOf(name).snapshot(-1)).version).toBe(4);
  });
});
