/**
 * Cloudflare's two-step previews as an LbState keeps them (previews.ts): probes of real origins on
 * 127.0.0.1, the result read back from a fresh stub, the alarm at the TTL deleting everything,
 * and the origin cap.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { MonitorSchema, PoolSchema, type Monitor, type Pool } from '../../core/config/index.ts';
import { T0, alarmAt, fakeClock, hook, query, stubOf } from '../../test/fixtures/lb-state.ts';
import type { LbState } from './index.ts';
import { MAX_PREVIEW_ORIGINS, PREVIEW_TTL_MS } from './previews.ts';

const ports = inject('probePorts');
const stored = { created_on: '', modified_on: '' };
const monitor = { ...MonitorSchema.parse({ path: '/ok', timeout: 1, retries: 0 }), id: 'm1', ...stored } as Monitor;
const poolOf = (id: string, ports: number[], minimum_origins = 1) =>
  ({
    ...PoolSchema.parse({ name: `name-${id}`, minimum_origins, origins: ports.map((port, i) => ({ name: `o${i}`, address: '127.0.0.1', port })) }),
    id,
    ...stored,
  }) as Pool;
const tables = (name: string) => query(name, "SELECT name FROM sqlite_master WHERE name NOT LIKE '\\_cf\\_%' ESCAPE '\\'");

describe('stored previews', () => {
  it('probes every origin of the pools, keeps the result for the TTL, then the alarm deletes everything', async () => {
    const clock = fakeClock();
    await hook('preview-id:a1', { clock });
    const kept = await stubOf('preview-id:a1').previewStore(monitor, [poolOf('p1', [ports.http, ports.closed], 2), poolOf('p2', [ports.http])]);
    expect(kept.expires_at).toBe(T0 + PREVIEW_TTL_MS);
    expect(kept.pools.p1).toMatchObject({ name: 'name-p1', healthy: false }); // minimum_origins 2, one passed
    expect(kept.pools.p1!.origins.map((o) => [o.name, o.healthy, o.response_code])).toEqual([
      ['o0', true, 200],
      ['o1', false, null],
    ]);
    expect(kept.pools.p2).toMatchObject({ healthy: true });
    expect(await stubOf('preview-id:a1').previewResult()).toEqual(kept);
    expect(await alarmAt('preview-id:a1')).toBe(T0 + PREVIEW_TTL_MS);
    expect(await tables('preview-id:a1')).toEqual([]); // KV only: no health tables made

    // An alarm before the TTL (a retried one) keeps the preview and re-arms.
    await runInDurableObject(stubOf('preview-id:a1'), (_, state) => state.storage.setAlarm(T0 + 1));
    clock.t = T0 + PREVIEW_TTL_MS - 1;
    expect(await runDurableObjectAlarm(stubOf('preview-id:a1'))).toBe(true);
    expect(await stubOf('preview-id:a1').previewResult()).toEqual(kept);
    expect(await alarmAt('preview-id:a1')).toBe(T0 + PREVIEW_TTL_MS);

    clock.t = T0 + PREVIEW_TTL_MS;
    expect(await stubOf('preview-id:a1').previewResult()).toBeNull(); // expired reads as gone even before the alarm
    expect(await runDurableObjectAlarm(stubOf('preview-id:a1'))).toBe(true);
    expect(await runInDurableObject(stubOf('preview-id:a1'), (_, state) => state.storage.list())).toEqual(new Map());
    expect(await alarmAt('preview-id:a1')).toBeNull();
  });

  it('refuses more than MAX_PREVIEW_ORIGINS origins and stores nothing', async () => {
    const many = poolOf(
      'big',
      Array.from({ length: MAX_PREVIEW_ORIGINS + 1 }, () => ports.closed),
    );
    const refused = await runInDurableObject(stubOf('preview-id:a2'), (lb: LbState) => lb.previewStore(monitor, [many]).then(String, (e: Error) => e.message));
    expect(refused).toBe(`a preview probes at most ${MAX_PREVIEW_ORIGINS} origins (101 given)`);
    expect(await stubOf('preview-id:a2').previewResult()).toBeNull();
    expect(await alarmAt('preview-id:a2')).toBeNull();
  });
});
