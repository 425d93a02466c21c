import { describe, expect, it } from 'vitest';
import { emptyDocument } from '../../core/config/index.ts';
import type { SnapshotReply } from '../../core/rpc/index.ts';
import { SnapshotCache, type SnapshotSource } from './index.ts';

/** A store whose replies the test releases one by one. */
function manualStore() {
  let version = 0;
  const waiting: (() => void)[] = [];
  const calls: number[] = [];
  const source: SnapshotSource = {
    snapshot(known) {
      calls.push(known);
      const at = version;
      return new Promise<SnapshotReply>((resolve) => waiting.push(() => resolve(known === at ? { version: at } : { version: at, doc: emptyDocument() })));
    },
  };
  return { source, calls, bump: () => version++, release: () => waiting.shift()!() };
}

describe('SnapshotCache', () => {
  it('serves the cached snapshot synchronously and refreshes once in the background when stale', async () => {
    let now = 0;
    const cache = new SnapshotCache({ maxAgeMs: 1000, now: () => now });
    const store = manualStore();
    const background: Promise<unknown>[] = [];
    const first = cache.get(() => store.source, undefined, { waitUntil: (p) => background.push(p) });
    store.release();
    expect((await first).version).toBe(0);
    expect(cache.get(() => store.source, undefined, { waitUntil: (p) => background.push(p) })).toMatchObject({ version: 0 });
    now = 1500;
    store.bump();
    cache.get(() => store.source, undefined, { waitUntil: (p) => background.push(p) });
    cache.get(() => store.source, undefined, { waitUntil: (p) => background.push(p) });
    expect(background).toHaveLength(1); // single flight
    store.release();
    await background[0];
    expect(cache.get(() => store.source, undefined, { waitUntil: () => {} })).toMatchObject({ version: 1 });
    expect(store.calls).toEqual([-1, 0]);
  });

  it('after invalidate(), waits for a snapshot fetched after the write, even with an older refresh in flight', async () => {
    let now = 0;
    const cache = new SnapshotCache({ maxAgeMs: 1000, now: () => now });
    const store = manualStore();
    const first = cache.get(() => store.source, undefined, { waitUntil: () => {} });
    store.release();
    await first;
    now = 2000;
    cache.get(() => store.source, undefined, { waitUntil: () => {} }); // starts a background refresh that sees version 0
    store.bump(); // the write lands...
    cache.invalidate(); // ...and this isolate knows it
    const fresh = cache.get(() => store.source, undefined, { waitUntil: () => {} });
    expect(fresh).toBeInstanceOf(Promise);
    store.release(); // the old refresh answers "version 0, unchanged"
    await new Promise((r) => setTimeout(r, 0));
    store.release(); // the queued refresh answers version 1
    expect((await fresh).version).toBe(1);
  });
});

describe('SnapshotCache staleness bound', () => {
  it('waits for a refresh once the snapshot is older than maxStaleMs, and falls back to it on error', async () => {
    let now = 0;
    const cache = new SnapshotCache({ maxAgeMs: 1000, maxStaleMs: 2000, now: () => now });
    const store = manualStore();
    const first = cache.get(() => store.source, undefined, { waitUntil: () => {} });
    store.release();
    await first;
    now = 5000;
    store.bump();
    const waited = cache.get(() => store.source, undefined, { waitUntil: () => {} });
    expect(waited).toBeInstanceOf(Promise);
    store.release();
    expect((await waited).version).toBe(1);
    now = 10_000;
    const failing: SnapshotSource = { snapshot: () => Promise.reject(new Error('store unreachable')) };
    expect((await cache.get(() => failing, undefined, { waitUntil: () => {} })).version).toBe(1);
  });
});
