import { env, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsZoneSchema, type DnsZone } from '../../core/config/index.ts';
import { a, converge, plan, providerContract, rejection, OWNER } from '../../dns/provider.case.test.ts';
import { ProviderError, type DnsProvider, type Owner } from '../../dns/provider.ts';
import { startRemoteCloudflareApi, type RemoteCloudflareApi } from '../../test/fixtures/cloudflare-remote.ts';
import { TESTING, type DnsZoneWriter } from './index.ts';
import { zoneWriterProvider } from './provider.ts';
import type { WriterOptions } from './writer.ts';

const TOKEN = 'cf-test-token-5e2a'; // vitest.config.ts binds it as CF_TEST_TOKEN
let writers = 0;

/** A fresh writer (its own Durable Object) over `api`, with `options` (default: 20 ms windows, to keep the contract quick). */
async function writerFor(api: RemoteCloudflareApi, options: Partial<WriterOptions> = { readWindowMs: 20, applyWindowMs: 20 }, secret = 'CF_TEST_TOKEN') {
  const zone = {
    ...DnsZoneSchema.parse({ name: api.zoneName, provider: { type: 'cloudflare', zone_id: api.zoneId, api_token_secret: secret, api_base: api.url } }),
    id: `zone-${++writers}`,
    created_on: '',
    modified_on: '',
  } as DnsZone;
  const stub = env.DNS_ZONE.getByName(zone.id);
  await runInDurableObject(stub, (instance: DnsZoneWriter) => instance[TESTING](options));
  return { provider: zoneWriterProvider(stub, zone), stub };
}

providerContract('zone writer (DnsZoneWriter over RPC, contract server)', async () => {
  const api = await startRemoteCloudflareApi({ token: TOKEN });
  return {
    provider: (await writerFor(api)).provider,
    zone: api.zoneName,
    plantForeign: async (r) => void (await api.plant(r)),
    async changeBehind(name) {
      const ours = (await api.state()).records.find((r) => r.name === name && r.comment?.startsWith('edge-lb:'));
      if (!ours) throw new Error(`no record of ours at ${name}`);
      await api.alter(ours.id, { content: ours.type === 'A' ? '203.0.113.254' : ours.type === 'AAAA' ? '2001:db8::fe' : `changed.${ours.content}` });
    },
    close: () => api.close(),
  };
});

describe('DnsZoneWriter coalesces many callers', () => {
  let api: RemoteCloudflareApi;
  afterEach(() => api?.close());
  const owner = (i: number): Owner => ({ ownerId: 'edge-lb', lbId: `lb-${i}` });
  const nameOf = (i: number) => `lb${i}.${api.zoneName}`;
  /** Each caller i reads its name and plans `records(i)` there, all at once. */
  const planAll = (p: DnsProvider, n: number, records: (i: number) => ReturnType<typeof a>[]) =>
    Promise.all(Array.from({ length: n }, async (_, i) => plan(nameOf(i), owner(i), await p.read(nameOf(i), owner(i)), records(i))));
  const two = (i: number) => [a(nameOf(i), `10.${i >> 8}.${i & 255}.1`), a(nameOf(i), `10.${i >> 8}.${i & 255}.2`)];
  const outcomes = (ps: Promise<void>[]) =>
    Promise.all(
      ps.map((p) =>
        p.then(
          () => 'ok',
          (e: ProviderError) => e.kind,
        ),
      ),
    );

  it('250 concurrent reads are one listing; 200 change sets of 2 records are ⌈400/200⌉ = 2 batches', async () => {
    api = await startRemoteCloudflareApi({ token: TOKEN });
    await api.plant({ name: nameOf(3), type: 'AAAA', content: '2001:db8::99' }); // foreign: counted, never touched
    const { provider, stub } = await writerFor(api, { applyWindowMs: 1000 });
    const reads = await Promise.all(Array.from({ length: 250 }, (_, i) => provider.read(nameOf(i), owner(i))));
    expect([(await api.state()).calls.list, reads[3]!.foreign, reads.filter((r) => r.records.length === 0).length]).toEqual([1, 1, 250]);
    const changes = await planAll(provider, 200, two);
    await Promise.all(changes.map((c) => provider.apply(c)));
    const { calls, records } = await api.state();
    // A round starts as soon as its queue fills a batch (100 change sets): two rounds of one listing and one batch each.
    expect([calls.batch, calls.list]).toEqual([2, 2 + 2]);
    expect(records.filter((r) => r.comment?.startsWith('edge-lb:edge-lb:')).length).toBe(400);
    expect(await stub.stats()).toMatchObject({ listings: 4, batches: 2, batchOps: 400, failedBatches: 0 });
    // Idempotent: a second plan from a fresh read changes nothing and sends no batch.
    expect((await planAll(provider, 200, two)).every((c) => c.add.length + c.remove.length === 0)).toBe(true);
    expect((await api.state()).calls.batch).toBe(2);
  });

  it('a conflict is answered to its caller alone; the others apply in the same batch', async () => {
    api = await startRemoteCloudflareApi({ token: TOKEN });
    const { provider } = await writerFor(api, { applyWindowMs: 200 });
    await Promise.all([0, 1, 2].map((i) => converge(provider, nameOf(i), owner(i), [a(nameOf(i), '192.0.2.1')])));
    const changes = await planAll(provider, 3, (i) => [a(nameOf(i), '192.0.2.2')]);
    const ours = (await api.state()).records.find((r) => r.name === nameOf(1))!;
    await api.alter(ours.id, { content: '203.0.113.9' }); // behind the writer's back
    const batches = (await api.state()).calls.batch;
    expect(await outcomes(changes.map((c) => provider.apply(c)))).toEqual(['ok', 'conflict', 'ok']);
    const after = await Promise.all([0, 1, 2].map((i) => provider.read(nameOf(i), owner(i))));
    expect(after.map((s) => s.records.map((r) => r.content))).toEqual([['192.0.2.2'], ['203.0.113.9'], ['192.0.2.2']]);
    expect((await api.state()).calls.batch).toBe(batches + 1);
  });

  it('a failed batch fails its own callers only, applies none of their changes, and the round goes on', async () => {
    api = await startRemoteCloudflareApi({ token: TOKEN });
    // Batches of 4 operations, change sets of 3: two queued (6 ≥ 4) start a round of two batches.
    const { provider } = await writerFor(api, { batchLimit: 4, applyWindowMs: 500 });
    const changes = await planAll(provider, 4, (i) => [...two(i), a(nameOf(i), '192.0.2.3')]);
    await api.failNextBatch(500);
    const result = await outcomes(changes.map((c) => provider.apply(c)));
    expect(result.filter((k) => k === 'unreachable').length).toBe(1);
    expect(result.filter((k) => k === 'ok').length).toBe(3);
    const { records, calls } = await api.state();
    const published = new Set(records.map((r) => r.name));
    expect(changes.map((c, i) => (published.has(c.name) ? 'ok' : result[i]))).toEqual(result);
    expect([records.length, calls.batch, calls.list]).toEqual([9, 4, 1 + 2]); // one listing for the 4 reads, one per round
  });

  it('a change set Cloudflare refuses fails alone: caught before sending, or isolated by halving the refused batch', async () => {
    api = await startRemoteCloudflareApi({ token: TOKEN });
    const { provider, stub } = await writerFor(api, { applyWindowMs: 200 });
    // TTL 5: refused before sending. TTL 30: allowed on Enterprise, refused by this (Free) zone: the batch is halved until it is alone.
    const ttls = [300, 5, 300, 30, 300];
    const changes = await planAll(provider, 5, (i) => [a(nameOf(i), '192.0.2.1', ttls[i])]);
    const errors = await Promise.all(
      changes.map((c) =>
        provider.apply(c).then(
          () => undefined,
          (e: ProviderError) => e,
        ),
      ),
    );
    expect(errors.map((e) => e?.kind ?? 'ok')).toEqual(['ok', 'invalid', 'ok', 'invalid', 'ok']);
    expect(errors[1]!.message).toContain('TTL 5 s');
    expect(errors[3]!.message).toContain('9021');
    expect((await api.state()).records.map((r) => r.name).sort()).toEqual([0, 2, 4].map(nameOf));
    // [0 2 3 4] refused → [0 2] ok, [3 4] refused → [3] refused, [4] ok.
    expect(await stub.stats()).toMatchObject({ batches: 5, failedBatches: 2 + 0 + 1 });
  });

  it('a 429 pauses the writer: every waiting caller gets rate_limited with the remaining wait, and nothing is sent until it passes', async () => {
    api = await startRemoteCloudflareApi({ token: TOKEN });
    const { provider, stub } = await writerFor(api, { applyWindowMs: 200 });
    const changes = await planAll(provider, 3, two);
    await api.rateLimit(1, '7', 'batch');
    const errors = await Promise.all(
      changes.map((c) =>
        provider.apply(c).then(
          () => undefined,
          (e: ProviderError) => e,
        ),
      ),
    );
    expect(errors.map((e) => e?.kind)).toEqual(['rate_limited', 'rate_limited', 'rate_limited']);
    for (const e of errors) (expect(e!.retryAfterMs).toBeGreaterThan(6000), expect(e!.retryAfterMs).toBeLessThanOrEqual(7000));
    const calls = (await api.state()).calls;
    const later = await Promise.all(
      [provider.read(nameOf(9), owner(9)), provider.apply(changes[0]!)].map((p) =>
        p.then(
          () => undefined,
          (e: ProviderError) => e,
        ),
      ),
    );
    expect(later.map((e) => [e?.kind, (e?.retryAfterMs ?? 0) > 0 && (e?.retryAfterMs ?? 0) <= 7000])).toEqual([
      ['rate_limited', true],
      ['rate_limited', true],
    ]);
    expect((await api.state()).calls).toEqual(calls);
    expect((await stub.stats()).rateLimited).toBe(1);
  });

  it('errors cross RPC as ProviderError with kind and retryAfterMs; an unset secret is auth and sends nothing; bad input names the field', async () => {
    api = await startRemoteCloudflareApi({ token: TOKEN });
    const unset = (await writerFor(api, undefined, 'NO_SUCH_SECRET')).provider;
    const error = await rejection(unset.read(nameOf(0), OWNER), 'auth');
    expect([error instanceof ProviderError, error.message]).toEqual([true, expect.stringContaining('NO_SUCH_SECRET')]);
    const { provider } = await writerFor(api);
    await rejection(provider.read('Not A Name', OWNER), 'invalid').then((e) => expect(e.message).toMatch(/^name: /));
    const bad = { ...plan(nameOf(0), OWNER, { records: [], foreign: 0 }, [a(nameOf(0), '192.0.2.1')]) };
    bad.add = [{ ...bad.add[0]!, ttl: -1 }];
    await rejection(provider.apply(bad), 'invalid').then((e) => expect(e.message).toMatch(/^changes\.add\.0\.ttl: /));
    expect((await api.state()).calls).toEqual({ list: 0, batch: 0, other: 0 });
  });
});
