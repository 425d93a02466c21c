import { afterEach, describe, expect, test } from 'vitest';
// The contract server is a Node fixture (test/); only this test imports it, the provider never does.
import { startCloudflareApi, type CloudflareApi } from '../../test/fixtures/cloudflare-api.ts';
import { a, aaaa, canon, converge, OWNER, plan, providerContract, rejection } from '../provider.case.test.ts';
import { cloudflareProvider, ownerMark, retryAfterMs, type CloudflareProviderOptions } from './index.ts';

const TOKEN = 'cf-secret-token-7c1d9e';

providerContract('cloudflare (contract server)', async () => {
  const api = await startCloudflareApi({ token: TOKEN });
  return {
    provider: cloudflareProvider({ zoneId: api.zoneId, apiToken: TOKEN, baseURL: api.url }),
    zone: api.zoneName,
    plantForeign: async (r) => void api.plant(r),
    async changeBehind(name) {
      const ours = api.records().find((r) => r.name === name && r.comment?.startsWith('edge-lb:'));
      if (!ours) throw new Error(`no record of ours at ${name}`);
      api.alter(ours.id, { content: ours.type === 'A' ? '203.0.113.254' : ours.type === 'AAAA' ? '2001:db8::fe' : `changed.${ours.content}` });
    },
    close: () => api.close(),
  };
});

describe('cloudflare provider', () => {
  let api: CloudflareApi;
  const name = 'www.example.com';
  const start = async (opts: Partial<CloudflareProviderOptions> & { readOnlyToken?: string } = {}) => {
    api = await startCloudflareApi({ token: TOKEN, ...(opts.readOnlyToken && { readOnlyToken: opts.readOnlyToken }) });
    return cloudflareProvider({ zoneId: api.zoneId, apiToken: TOKEN, baseURL: api.url, ...opts });
  };
  const snapshot = () => api.records().map((r) => `${r.type} ${r.content} ${r.ttl} ${r.comment} ${r.id}`);
  afterEach(() => api?.close());

  test('sends the documented requests: list by exact name with paging, one batch of deletes and posts', async () => {
    const p = await start();
    const before = await converge(p, name, OWNER, [a(name, '192.0.2.1')]);
    api.requests.length = 0;
    await p.apply(plan(name, OWNER, before, [aaaa(name, '2001:db8::1', 60)]));
    const base = `/client/v4/zones/${api.zoneId}/dns_records`;
    expect(api.requests).toEqual([
      { method: 'GET', path: base, query: { 'name.exact': name, page: '1', per_page: '100' }, body: undefined, contentType: undefined },
      {
        method: 'POST',
        path: `${base}/batch`,
        query: {},
        body: {
          deletes: [{ id: before.records[0]!.id }],
          posts: [{ name, type: 'AAAA', content: '2001:db8::1', ttl: 60, proxied: false, comment: 'edge-lb:contract:lb-1' }],
        },
        contentType: 'application/json',
      },
    ]);
    expect(api.records().map((r) => [r.type, r.content, r.proxied, r.comment])).toEqual([['AAAA', '2001:db8::1', false, 'edge-lb:contract:lb-1']]);
  });

  test('429 on the batch: rate_limited with retry-after, nothing applied; a fresh plan applies later', async () => {
    const p = await start({ now: () => Date.parse('2026-03-01T12:00:00Z') });
    const before = await converge(p, name, OWNER, [a(name, '192.0.2.1')]);
    const state = snapshot();
    api.rateLimit(1, '7', 'batch');
    const error = await rejection(p.apply(plan(name, OWNER, before, [a(name, '192.0.2.2')])), 'rate_limited');
    expect(error.retryAfterMs).toBe(7000);
    expect([snapshot(), api.calls.batch]).toEqual([state, 2]);
    api.rateLimit(1, 'Sun, 01 Mar 2026 12:00:30 GMT', 'list');
    expect((await rejection(p.read(name, OWNER), 'rate_limited')).retryAfterMs).toBe(30_000);
    expect(canon((await converge(p, name, OWNER, [a(name, '192.0.2.2')])).records)).toEqual([a(name, '192.0.2.2')]);
  });

  test('a refused batch leaves nothing half-applied', async () => {
    const p = await start();
    const before = await converge(p, name, OWNER, [a(name, '192.0.2.1'), a(name, '192.0.2.2')]);
    const state = snapshot();
    api.failNextBatch(500);
    await rejection(p.apply(plan(name, OWNER, before, [a(name, '192.0.2.3')])), 'unreachable');
    expect(snapshot()).toEqual(state);
    // The delete would succeed, the second post is refused (identical to the first): the delete must not happen either.
    const error = await rejection(
      p.apply({ ...plan(name, OWNER, before, [a(name, '192.0.2.1')]), add: [a(name, '192.0.2.4'), a(name, '192.0.2.4')] }),
      'invalid',
    );
    expect(error.message).toContain('81058: An identical record already exists.');
    expect(snapshot()).toEqual(state);
  });

  test('a batch deleting a record removed after the check is a conflict, and applies nothing', async () => {
    await start();
    let race = false;
    const racing = cloudflareProvider({
      zoneId: api.zoneId,
      apiToken: TOKEN,
      baseURL: api.url,
      // Another tool deletes our record between our check and our batch (the TOCTOU window).
      fetch: async (input, init) => (race && init?.method === 'POST' && api.remove(api.records()[0]!.id), globalThis.fetch(input, init)),
    });
    const before = await converge(racing, name, OWNER, [a(name, '192.0.2.1')]);
    race = true;
    const error = await rejection(racing.apply(plan(name, OWNER, before, [a(name, '192.0.2.2')])), 'conflict');
    expect(error.message).toContain('81044: Record does not exist.');
    expect(api.records()).toEqual([]);
  });

  test('follows result_info paging across more than per_page records, without an extra request', async () => {
    const p = await start({ perPage: 5 });
    for (let i = 1; i <= 11; i++) api.plant({ name, type: 'A', content: `192.0.2.${i}`, comment: ownerMark(OWNER) });
    for (let i = 1; i <= 3; i++) api.plant({ name, type: 'AAAA', content: `2001:db8::${i}` });
    api.plant({ name, type: 'TXT', content: 'v=spf1 -all' });
    api.plant({ name: 'other.example.com', type: 'A', content: '192.0.2.1', comment: ownerMark(OWNER) });
    const state = await p.read(name, OWNER);
    // 15 records at the name: 3 full pages; total_pages says there is no 4th.
    expect([state.records.length, state.foreign, api.calls.list]).toEqual([11, 3, 3]);
    expect(api.requests.map((r) => r.query.page)).toEqual(['1', '2', '3']);
    expect(canon(state.records)).toEqual(canon(Array.from({ length: 11 }, (_, i) => a(name, `192.0.2.${i + 1}`))));
  });

  test('ownership is exact equality with the mark, not a case-insensitive or substring match', async () => {
    const p = await start();
    for (const [i, comment] of ['EDGE-LB:contract:lb-1', 'edge-lb:contract:lb-10', ' edge-lb:contract:lb-1', 'x edge-lb:contract:lb-1'].entries())
      api.plant({ name, type: 'A', content: `198.51.100.${i}`, comment });
    expect(await p.read(name, OWNER)).toEqual({ records: [], foreign: 4 });
    expect(ownerMark({ ownerId: 'a:b', lbId: 'c' })).not.toBe(ownerMark({ ownerId: 'a', lbId: 'b:c' }));
  });

  test('auth failures are "auth" and never carry the token', async () => {
    await start({ readOnlyToken: 'read-only-secret' });
    const wrong = cloudflareProvider({ zoneId: api.zoneId, apiToken: `${TOKEN}-revoked`, baseURL: api.url });
    const error = await rejection(wrong.read(name, OWNER), 'auth');
    expect(error.message).toBe('reading www.example.com: Cloudflare answered 401 (10000: Authentication error)');
    const readOnly = cloudflareProvider({ zoneId: api.zoneId, apiToken: 'read-only-secret', baseURL: api.url });
    const denied = await rejection(readOnly.apply(plan(name, OWNER, await readOnly.read(name, OWNER), [a(name, '192.0.2.1')])), 'auth');
    expect(denied.message).toBe('applying changes to www.example.com: Cloudflare answered 403 (10000: Forbidden)');
    expect(api.records()).toEqual([]);
  });

  test('transport failures are "unreachable"; auth error codes on a 400 are "auth"; retry-after parses seconds and HTTP dates', async () => {
    const down = cloudflareProvider({ zoneId: 'z', apiToken: TOKEN, baseURL: 'http://127.0.0.1:9/client/v4', timeoutMs: 2000 });
    expect((await rejection(down.read(name, OWNER), 'unreachable')).message).not.toContain(TOKEN);
    const body = JSON.stringify({ success: false, errors: [{ code: 9106, message: 'Authentication failed' }], messages: [], result: null });
    const fetch = async () => new Response(body, { status: 400, headers: { 'content-type': 'application/json' } });
    await rejection(cloudflareProvider({ zoneId: 'z', apiToken: TOKEN, fetch }).read(name, OWNER), 'auth');
    expect([retryAfterMs('120', 0), retryAfterMs('Thu, 01 Jan 1970 00:00:05 GMT', 1000), retryAfterMs('soon', 0), retryAfterMs(null, 0)]).toEqual([
      120_000,
      4000,
      undefined,
      undefined,
    ]);
  });
});
