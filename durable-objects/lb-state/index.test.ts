import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { MonitorSchema, PoolSchema, type Monitor, type Pool } from '../../core/config/index.ts';
import { lbState } from '../../worker/env.ts';
import type { HealthSnapshot, LbState, Targets } from './index.ts';

const ports = inject('probePorts');
const stored = { created_on: '', modified_on: '' };
const monitor = { ...MonitorSchema.parse({ path: '/ok', interval: 5, timeout: 1, retries: 0, consecutive_down: 1 }), id: 'm1', ...stored } as Monitor;
const pool = (od: object = {}) => ({
  ...PoolSchema.parse({
    name: 'p',
    monitor: 'm1',
    origins: [
      { name: 'up', address: '127.0.0.1', port: ports.http },
      { name: 'down', address: '127.0.0.1', port: ports.closed },
      { name: 'third', address: '127.0.0.1', port: ports.http },
    ],
    outlier_detection: { consecutive_5xx: 3, base_ejection_time: 30, max_ejection_percent: 34, ...od },
  }),
  id: 'p1', ...stored,
}) as Pool;
const targets = (lbId: string): Targets => ({ lbId, pools: [{ pool: pool(), monitor }] });
const stubOf = (name: string) => env.LB_STATE.get(env.LB_STATE.idFromName(name));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LbState', () => {
  it('arms its alarm on sync, probes when it fires, records transitions and bumps the version', async () => {
    const client = lbState(env, 'lb-probe');
    const synced = await client.sync(targets('lb-probe'));
    expect(synced.origins).toBe(3);
    expect(synced.nextAlarm).toBeGreaterThan(0);
    await sleep(1100); // first probes are spread over a second (the alarm may already have fired)
    await runDurableObjectAlarm(stubOf('lb-probe'));
    const records = await client.records();
    expect(Object.fromEntries(records.map((r) => [r.origin, [r.health.verdict, r.usable]]))).toEqual({ up: ['healthy', true], down: ['unhealthy', false], third: ['healthy', true] });
    const snap = await client.snapshot(-1);
    // One bump per alarm run that changed something (first probes are spread: up to three runs).
    expect(snap.version).toBeGreaterThanOrEqual(1);
    expect(snap.origins?.p1?.down).toMatchObject({ verdict: 'unhealthy' });
    expect((snap as HealthSnapshot).latency.probe!.p1).toBeGreaterThanOrEqual(0); // passing probes' RTT, for dynamic_latency
    expect(await client.snapshot(snap.version)).toEqual({ version: snap.version });
    const { events } = await client.events(10);
    expect(events.map((e) => `${e.origin}:${e.from}->${e.to}`).sort()).toEqual(['down:unknown->unhealthy', 'third:unknown->healthy', 'up:unknown->healthy']);
    expect(events.find((e) => e.origin === 'down')!.reason).toMatch(/^connection failed/);
    await runInDurableObject(stubOf('lb-probe'), async (_: LbState, state) => {
      const alarm = await state.storage.getAlarm();
      expect(alarm).toBeGreaterThanOrEqual(Date.now() + 3000); // next round about one interval (5 s) after the last
    });
  });

  it('ejects on consecutive 5xx reported by edges, within max_ejection_percent, and logs it', async () => {
    const client = lbState(env, 'lb-passive');
    await client.sync(targets('lb-passive'));
    const out = await client.report([
      { poolId: 'p1', origin: 'up', outcome: '5xx', count: 3 },
      { poolId: 'p1', origin: 'third', outcome: '5xx', count: 3 },
      { poolId: 'p1', origin: 'down', outcome: 'success', count: 10 },
    ]);
    expect(out.ejected).toEqual(['up']); // 34% of 3 origins: one
    const snap = await client.snapshot(-1);
    expect(snap.origins!.p1!.up!.ejectedUntil).toBeGreaterThan(Date.now() + 25_000);
    const { events } = await client.events(10);
    expect(events[0]).toMatchObject({ origin: 'up', from: 'in rotation', to: 'ejected' });
    const records = await client.records();
    expect(records.find((r) => r.origin === 'down')!.total).toBe(10);
  });

  it('lifts an ejection when the prober saw the origin go down and come back (Envoy uneject)', async () => {
    const client = lbState(env, 'lb-uneject');
    const failing = { ...monitor, path: '/fail' };
    await client.sync({ lbId: 'lb-uneject', pools: [{ pool: pool(), monitor: failing }] });
    await sleep(1100);
    await runDurableObjectAlarm(stubOf('lb-uneject'));
    expect((await client.records()).find((r) => r.origin === 'up')!.health.verdict).toBe('unhealthy');
    expect((await client.report([{ poolId: 'p1', origin: 'up', outcome: 'gateway_failure', count: 5 }])).ejected).toEqual(['up']);
    await client.sync({ lbId: 'lb-uneject', pools: [{ pool: pool(), monitor }] }); // the origin "comes back"
    await sleep(5700); // its next probe is one interval (5 s) + up to 10% jitter later
    await runDurableObjectAlarm(stubOf('lb-uneject'));
    const up = (await client.records()).find((r) => r.origin === 'up')!;
    expect(up.health).toMatchObject({ verdict: 'healthy', ejectedUntil: 0, timesEjected: 1 });
    const { events } = await client.events(20);
    expect(events.filter((e) => e.origin === 'up').slice(0, 2).map((e) => `${e.from}->${e.to}`)).toEqual(['ejected->in rotation', 'unhealthy->healthy']);
  }, 20_000);

  it('keeps the header-affinity table: first claim wins, replace re-pins, idle TTL expires', async () => {
    const client = lbState(env, 'lb-affinity');
    expect(await client.affinityPut('k', 'p1', 'up', 60_000)).toEqual({ poolId: 'p1', origin: 'up' });
    expect(await client.affinityPut('k', 'p1', 'third', 60_000)).toEqual({ poolId: 'p1', origin: 'up' });
    expect(await client.affinityPut('k', 'p1', 'third', 60_000, true)).toEqual({ poolId: 'p1', origin: 'third' });
    expect(await client.affinityGet('k')).toMatchObject({ poolId: 'p1', origin: 'third' });
    await client.affinityPut('short', 'p1', 'up', 50);
    await sleep(80);
    expect(await client.affinityGet('short')).toBeUndefined();
  });

  it('pages the event log newest first', async () => {
    const client = lbState(env, 'lb-pages');
    await client.sync(targets('lb-pages'));
    await sleep(1100);
    await runDurableObjectAlarm(stubOf('lb-pages'));
    const first = await client.events(2);
    expect(first.events).toHaveLength(2);
    expect(first.next).toBeDefined();
    const second = await client.events(2, first.next);
    expect(second.events).toHaveLength(1);
    expect(second.next).toBeUndefined();
    expect(first.events[0]!.id).toBeGreaterThan(first.events[1]!.id);
  });

  it('stops probing and disarms when synced with nothing to watch', async () => {
    const client = lbState(env, 'lb-stop');
    await client.sync(targets('lb-stop'));
    expect((await client.sync({ lbId: 'lb-stop', pools: [] })).nextAlarm).toBeNull();
    expect(await client.records()).toEqual([]);
  });
});
