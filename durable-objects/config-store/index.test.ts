import { env, evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ConfigStore } from './index.ts';
import type { Client, ConfigStoreApi } from '../../core/rpc/index.ts';

const pool = { name: 'p', origins: [{ name: 'o', address: '127.0.0.1', port: 9001 }] };
/** The value of a successful outcome; throws with the errors otherwise (RPC results do not narrow). */
type ValueOf<O> = O extends { ok: true; value: infer V } ? V : never;
function must<O extends { ok: boolean }>(o: O): ValueOf<O> {
  if (!o.ok) throw new Error(JSON.stringify((o as { errors?: unknown }).errors));
  return (o as unknown as { value: ValueOf<O> }).value;
}
const stubOf = (name: string) => env.CONFIG_STORE.getByName(name);
/** The typed client (core/rpc) of a ConfigStore named `name` (the Worker's is "global"). */
const store = (name: string): Client<ConfigStoreApi> => stubOf(name);

describe('ConfigStore', () => {
  it('creates its schema once and records the migration', async () => {
    await runInDurableObject(stubOf('schema'), (_: ConfigStore, state) => {
      const tables = state.storage.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .toArray()
        .map((r) => r.name);
      expect(tables).toEqual(expect.arrayContaining(['meta', 'resources', 'schema_migrations']));
      expect(state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM schema_migrations').one().n).toBe(2); // resources and meta; certificates
    });
  });

  it('bumps the version on every successful write and not on a refused one', async () => {
    const stub = store('versions');
    expect((await stub.snapshot()).version).toBe(0);
    const created = await stub.create('pools', pool);
    expect(created.ok).toBe(true);
    expect((await stub.snapshot()).version).toBe(1);
    const refused = await stub.create('pools', { name: 'bad' });
    expect(refused.ok).toBe(false);
    expect((await stub.snapshot()).version).toBe(1);
    expect(await stub.snapshot(1)).toEqual({ version: 1 });
  });

  it('keeps the configuration in SQLite across an eviction (a restart of the object)', async () => {
    const stub = store('durable');
    const created = must(await stub.create('pools', pool));
    await evictDurableObject(stubOf('durable'));
    expect(must(await stub.get('pools', created.value.id)).value).toEqual(created.value);
    expect((await stub.snapshot()).version).toBe(1);
  });

  it('rejects a stale If-Match with 412 and changes nothing', async () => {
    const stub = store('etag');
    const created = must(await stub.create('pools', pool));
    const id = created.value.id;
    must(await stub.patch('pools', id, { description: 'one' }, created.etag));
    const stale = await stub.patch('pools', id, { description: 'two' }, created.etag);
    expect(!stale.ok && stale.status).toBe(412);
    expect(must(await stub.get('pools', id)).value.description).toBe('one');
  });

  it('replaces the whole document all or nothing', async () => {
    const stub = store('import');
    const good = await stub.importConfig({
      pools: [{ id: 'p1', ...pool }],
      load_balancers: [{ id: 'l1', name: 'a.example.com', default_pools: ['p1'], fallback_pool: 'p1' }],
    });
    expect(good.ok).toBe(true);
    const before = await stub.exportConfig();
    const bad = await stub.importConfig({
      pools: [{ id: 'p2', ...pool }],
      load_balancers: [{ id: 'l1', name: 'a.example.com', default_pools: ['p1'], fallback_pool: 'p1' }],
    });
    expect(!bad.ok && bad.errors.map((e) => e.message)).toEqual([
      'load_balancers[0].default_pools[0]: unknown pool "p1"',
      'load_balancers[0].fallback_pool: unknown pool "p1"',
    ]);
    expect(await stub.exportConfig()).toEqual(before);
    const stale = await stub.importConfig({}, '"config-0"');
    expect(!stale.ok && stale.status).toBe(412);
  });

  it('generates a random affinity cookie key once, keeps it across restarts, never exports it, and rotates it keeping the previous one', async () => {
    const stub = store('affinity-keys');
    const first = await stub.snapshot();
    expect(first.affinityKeys).toHaveLength(1);
    expect(first.affinityKeys![0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const exported = JSON.stringify(await stub.exportConfig());
    expect(exported).not.toContain(first.affinityKeys![0]);
    await evictDurableObject(stubOf('affinity-keys'));
    expect((await stub.snapshot()).affinityKeys).toEqual(first.affinityKeys);
    const rotated = await stub.rotateAffinityKey();
    expect(rotated).toEqual({ version: first.version + 1, keys: 2 });
    const after = await stub.snapshot();
    expect(after.affinityKeys![1]).toBe(first.affinityKeys![0]);
    expect(after.affinityKeys![0]).not.toBe(first.affinityKeys![0]);
  });

  it('stores and loads a configuration of 1,000 load balancers and 1,000 pools of 50 origins: a row per resource, each far below the 2 MB a SQLite value may hold', async () => {
    const pools = Array.from({ length: 1000 }, (_, p) => ({
      id: `pool-${p}`,
      name: `pool-${p}`,
      origins: Array.from({ length: 50 }, (_, o) => ({ name: `origin-${o}`, address: `10.${p % 250}.${o}.1`, port: 8080 })),
    }));
    const load_balancers = Array.from({ length: 1000 }, (_, i) => ({
      id: `lb-${i}`,
      name: `app-${i}.example.com`,
      default_pools: [`pool-${i}`],
      fallback_pool: `pool-${(i + 1) % 1000}`,
    }));
    const stub = store('large');
    const imported = await stub.importConfig({ monitors: [], pools, load_balancers });
    expect(imported.ok).toBe(true);
    await runInDurableObject(stubOf('large'), (_: ConfigStore, state) => {
      const biggest = state.storage.sql.exec<{ n: number }>('SELECT MAX(LENGTH(body)) AS n FROM resources').one().n;
      expect(biggest).toBeLessThan(64 * 1024);
    });
    await evictDurableObject(stubOf('large'));
    const reloaded = await stub.snapshot();
    expect(reloaded.doc!.pools).toHaveLength(1000);
    expect(reloaded.doc!.load_balancers).toHaveLength(1000);
    expect(reloaded.doc!.pools[999]!.origins[49]!.name).toBe('origin-49');
  }, 60_000);
});
