import { SELF, createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../index.ts';

const TOKEN = 'test-admin-token';
const ADMIN = 'http://localhost/admin/v1';

function call(path: string, init: RequestInit & { token?: string | null } = {}) {
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set('authorization', `Bearer ${init.token ?? TOKEN}`);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return SELF.fetch(`${ADMIN}${path}`, { ...init, headers });
}
const json = (body: unknown) => JSON.stringify(body);
const config = async () => (await (await call('/config')).json<{ result: Record<string, unknown> }>()).result;

describe('admin auth', () => {
  it('answers 401 without a token, with a wrong one, or with another scheme', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, 'Bearer']) {
      const res = await SELF.fetch(`${ADMIN}/config`, { headers: authorization ? { authorization } : {} });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
      const body = await res.json<{ success: boolean; errors: { message: string }[] }>();
      expect(body.success).toBe(false);
    }
    expect((await call('/config')).status).toBe(200);
  });

  it('fails closed when no ADMIN_TOKEN is configured', async () => {
    const ctx = createExecutionContext();
    for (const token of [undefined, '']) {
      const res = await worker.fetch(new Request(`${ADMIN}/config`, { headers: { authorization: 'Bearer ' } }), { ...env, ADMIN_TOKEN: token }, ctx);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ errors: [{ message: 'the admin API is disabled: no ADMIN_TOKEN is configured' }] });
    }
    await waitOnExecutionContext(ctx);
  });

  it('serves the admin API only on admin hosts: elsewhere /admin is traffic', async () => {
    const res = await SELF.fetch('http://app.example.com/admin/v1/config', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('No load balancer is configured for host app.example.com.\n');
    expect((await SELF.fetch('http://127.0.0.1/admin/v1/config', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });
});

describe('admin resources', () => {
  it('create, read with ETag, list, replace, patch and delete a pool', async () => {
    const created = await call('/pools', { method: 'POST', body: json({ name: 'web', origins: [{ name: 'a', address: '192.0.2.1' }] }) });
    expect(created.status).toBe(201);
    const { result: pool, success } = await created.json<{ result: { id: string; origins: { port: number }[] }; success: boolean }>();
    expect(success).toBe(true);
    expect(pool.id).toMatch(/^[0-9a-f]{32}$/);
    const read = await call(`/pools/${pool.id}`);
    const etag = read.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{16}"$/);
    expect((await call('/pools')).status).toBe(200);

    const stale = await call(`/pools/${pool.id}`, { method: 'PATCH', headers: { 'if-match': '"0000000000000000"' }, body: json({ description: 'x' }) });
    expect(stale.status).toBe(412);
    const patched = await call(`/pools/${pool.id}`, {
      method: 'PATCH',
      headers: { 'if-match': etag, 'content-type': 'application/merge-patch+json' },
      body: json({ description: 'x' }),
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ result: { description: 'x', name: 'web' } });
    const put = await call(`/pools/${pool.id}`, {
      method: 'PUT',
      body: json({ name: 'web2', origins: [{ name: 'b', address: 'origin.example.net', port: 8080 }] }),
    });
    expect(await put.json()).toMatchObject({ result: { id: pool.id, name: 'web2', description: '' } });
    expect((await call(`/pools/${pool.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await call(`/pools/${pool.id}`)).status).toBe(404);
  });

  it('answers bad input with 400, every error naming its field, and stores nothing', async () => {
    const before = await config();
    const cases: [string, RequestInit, number, string][] = [
      [
        '/pools',
        { method: 'POST', body: json({ name: 'p', origins: [{ name: 'a', address: '1.2.3.4', weight: 7 }] }) },
        400,
        'origins[0].weight: Too big: expected number to be <=1',
      ],
      ['/pools', { method: 'POST', body: json({ name: 'p', origins: [] }) }, 400, 'origins: Too small: expected array to have >=1 items'],
      ['/monitors', { method: 'POST', body: json({ type: 'icmp' }) }, 400, 'type: Invalid option: expected one of "http"|"https"|"tcp"'],
      [
        '/load_balancers',
        { method: 'POST', body: json({ name: 'a.example.com', default_pools: ['nope'], fallback_pool: 'nope' }) },
        400,
        'default_pools[0]: unknown pool "nope"',
      ],
      [
        '/load_balancers',
        { method: 'POST', body: json({ name: 'a.example.com', default_pools: ['p'], fallback_pool: 'p', steering: 'x' }) },
        400,
        'steering: unknown field',
      ],
      ['/pools', { method: 'POST', body: '{"name": ' }, 400, 'the body is not valid JSON'],
      ['/pools', { method: 'POST', body: json({}), headers: { 'content-type': 'text/plain' } }, 415, 'the body must be JSON'],
      [
        '/config',
        {
          method: 'PUT',
          body: json({
            pools: [{ name: 'p', origins: [{ name: 'a', address: '1.2.3.4' }] }],
            load_balancers: [{ name: 'b.example.com', default_pools: ['zz'], fallback_pool: 'zz' }],
          }),
        },
        400,
        'load_balancers[0].default_pools[0]: unknown pool "zz"',
      ],
      ['/pools/nope', { method: 'PATCH', body: json({}) }, 404, 'pool nope not found'],
    ];
    for (const [path, init, status, message] of cases) {
      const res = await call(path, init);
      const body = await res.json<{ success: boolean; errors: { message: string }[]; result: unknown }>();
      expect([res.status, body.success], `${path} ${String(init.body)}`).toEqual([status, false]);
      expect(body.errors.map((e) => e.message).join('\n')).toContain(message);
      expect(body.result).toBeNull();
    }
    expect(await config()).toEqual(before);
  });

  it('refuses to delete a referenced pool or monitor with 409 and deletes nothing', async () => {
    const mon = await (await call('/monitors', { method: 'POST', body: json({ type: 'tcp' }) })).json<{ result: { id: string } }>();
    const pool = await (
      await call('/pools', { method: 'POST', body: json({ name: 'p', monitor: mon.result.id, origins: [{ name: 'a', address: '1.2.3.4' }] }) })
    ).json<{ result: { id: string } }>();
    const lb = await call('/load_balancers', {
      method: 'POST',
      body: json({ name: 'ref.example.com', default_pools: [pool.result.id], fallback_pool: pool.result.id }),
    });
    expect(lb.status).toBe(201);
    const before = await config();
    const delPool = await call(`/pools/${pool.result.id}`, { method: 'DELETE' });
    expect(delPool.status).toBe(409);
    expect((await delPool.json<{ errors: { message: string }[] }>()).errors[0]!.message).toContain('is still used by load balancer');
    expect((await call(`/monitors/${mon.result.id}`, { method: 'DELETE' })).status).toBe(409);
    expect(await config()).toEqual(before);
  });

  it('exports and replaces the whole config with a version ETag', async () => {
    const res = await call('/config');
    const etag = res.headers.get('etag')!;
    const doc = (await res.json<{ result: Record<string, unknown> }>()).result;
    const put = await call('/config', { method: 'PUT', headers: { 'if-match': etag }, body: json(doc) });
    expect(put.status).toBe(200);
    expect((await call('/config', { method: 'PUT', headers: { 'if-match': etag }, body: json(doc) })).status).toBe(412);
  });
});

describe('openapi.json', () => {
  it('is an OpenAPI 3.1 document generated from the schemas', async () => {
    const doc = await (
      await call('/openapi.json')
    ).json<{ openapi: string; paths: Record<string, object>; components: { schemas: Record<string, { properties: object }> } }>();
    expect(doc.openapi).toBe('3.1.0');
    for (const p of [
      '/admin/v1/pools',
      '/admin/v1/pools/{id}',
      '/admin/v1/monitors',
      '/admin/v1/load_balancers/{id}',
      '/admin/v1/config',
      '/admin/v1/pools/{id}/health',
      '/admin/v1/pools/{id}/origins/{name}',
      '/admin/v1/load_balancers/{id}/backend-stats',
      '/admin/v1/load_balancers/{id}/events',
      '/admin/v1/monitors/{id}/preview',
    ])
      expect(doc.paths).toHaveProperty([p]);
    expect(Object.keys(doc.components.schemas.PoolInput!.properties)).toEqual(
      expect.arrayContaining(['name', 'origins', 'minimum_origins', 'origin_steering']),
    );
    expect(Object.keys(doc.components.schemas.LoadBalancerInput!.properties)).toEqual(
      expect.arrayContaining(['default_pools', 'fallback_pool', 'steering_policy', 'session_affinity']),
    );
  });
});

describe('read-only tokens (ADMIN_READ_TOKENS)', () => {
  const READ = 'test-read-token-2';
  it('read every resource, ask the explainer, and are refused every write with 403, nothing changed', async () => {
    const before = await config();
    for (const path of ['/config', '/pools', '/load_balancers', '/dns_zones', '/webhooks', '/openapi.json']) {
      expect((await call(path, { token: READ })).status, path).toBe(200);
    }
    const writes: [string, string, unknown][] = [
      ['POST', '/pools', { name: 'ro', origins: [{ name: 'a', address: '192.0.2.1' }] }],
      ['PUT', '/config', { monitors: [] }],
      ['POST', '/affinity_key/rotate', undefined],
      ['POST', '/monitors/x/preview', {}],
      ['DELETE', '/pools/x', undefined],
    ];
    for (const [method, path, body] of writes) {
      const res = await call(path, { method, token: READ, body: body === undefined ? undefined : json(body) });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(await res.json()).toMatchObject({ success: false, errors: [{ code: 1008, message: expect.stringContaining('read-only token cannot') }] });
    }
    expect(await config()).toEqual(before);
    const explain = await call('/load_balancers/nope/preview', { method: 'POST', token: READ, body: json({}) });
    expect(explain.status).toBe(404);
  });

  it('are refused when no ADMIN_TOKEN is configured (fails closed)', async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`${ADMIN}/config`, { headers: { authorization: `Bearer ${READ}` } }), { ...env, ADMIN_TOKEN: '' }, ctx);
    expect(res.status).toBe(401);
    await waitOnExecutionContext(ctx);
  });
});

describe('DNS zones and webhooks', () => {
  const pool = { name: 'dns-pool', origins: [{ name: 'a', address: '192.0.2.10' }] };
  const zone = {
    name: 'example.test',
    provider: { type: 'rfc2136', server: '127.0.0.1', port: 5353, tsig_key_name: 'edge-lb.example.test', tsig_secret: 'DNS_TSIG_ADMIN_TEST' },
  };

  it('store a zone with its secret named by binding, and publish only DNS-only names inside it', async () => {
    const z = await (await call('/dns_zones', { method: 'POST', body: json(zone) })).json<{ result: { id: string; owner_id: string } }>();
    expect(z.result.owner_id).toBe('edge-lb');
    const p = await (await call('/pools', { method: 'POST', body: json(pool) })).json<{ result: { id: string } }>();
    const lb = (name: string, proxied: boolean) => ({ name, proxied, default_pools: [p.result.id], fallback_pool: p.result.id, dns: { zone: z.result.id } });

    const outside = await call('/load_balancers', { method: 'POST', body: json(lb('www.other.test', false)) });
    expect(outside.status).toBe(400);
    expect(await outside.json()).toMatchObject({ errors: [{ path: 'dns.zone', message: expect.stringContaining('does not contain') }] });
    const proxied = await call('/load_balancers', { method: 'POST', body: json(lb('app.example.test', true)) });
    expect(proxied.status).toBe(400);
    expect(await proxied.json()).toMatchObject({ errors: [{ path: 'proxied' }] });

    const made = await call('/load_balancers', { method: 'POST', body: json(lb('app.example.test', false)) });
    expect(made.status).toBe(201);
    const { result } = await made.json<{ result: { id: string; dns: { max_records: number } } }>();
    expect(result.dns.max_records).toBe(8);
    const inUse = await call(`/dns_zones/${z.result.id}`, { method: 'DELETE' });
    expect(inUse.status).toBe(409);
    expect((await call(`/load_balancers/${result.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await call(`/dns_zones/${z.result.id}`, { method: 'DELETE' })).status).toBe(200);
  });

  it('refuse a secret in place of a binding name and a webhook URL that is not http(s)', async () => {
    const secret = await call('/dns_zones', { method: 'POST', body: json({ ...zone, provider: { ...zone.provider, tsig_secret: 'c2VjcmV0IGtleQ==' } }) });
    expect(secret.status).toBe(400);
    expect(await secret.json()).toMatchObject({ errors: [{ path: 'provider.tsig_secret', message: expect.stringContaining('secret binding') }] });
    for (const url of ['ftp://hooks.example.com/x', 'javascript:alert(1)', 'not a url']) {
      const res = await call('/webhooks', { method: 'POST', body: json({ name: 'ops', url, secret: 'WEBHOOK_TEST_SECRET' }) });
      expect(res.status, url).toBe(400);
      expect(await res.json()).toMatchObject({ errors: [{ path: 'url', message: 'url: must be an http(s) URL' }] });
    }
    const unsigned = await call('/webhooks', { method: 'POST', body: json({ name: 'ops', url: 'https://hooks.example.com/x' }) });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toMatchObject({ errors: [{ path: 'secret', message: expect.stringContaining('is required for json webhooks') }] });
    const ok = await call('/webhooks', { method: 'POST', body: json({ name: 'ops', url: 'https://hooks.example.com/x', secret: 'WEBHOOK_TEST_SECRET' }) });
    expect(ok.status).toBe(201);
    expect((await ok.json<{ result: { format: string } }>()).result.format).toBe('json');
  });

  it('refuse a secret binding that is not set, on every path of writing, and store nothing', async () => {
    const before = await (await call('/config')).json<{ result: object }>();
    const cloudflare = { type: 'cloudflare', zone_id: 'a'.repeat(32), api_token_secret: 'CF_UNSET_TOKEN' };
    const cases: [string, RequestInit, string][] = [
      ['/dns_zones', { method: 'POST', body: json({ ...zone, provider: { ...zone.provider, tsig_secret: 'DNS_TSIG_UNSET' } }) }, 'provider.tsig_secret'],
      ['/dns_zones', { method: 'POST', body: json({ ...zone, provider: cloudflare }) }, 'provider.api_token_secret'],
      ['/webhooks', { method: 'POST', body: json({ name: 'ops', url: 'https://hooks.example.com/x', secret: 'WEBHOOK_UNSET' }) }, 'secret'],
      [
        '/config',
        { method: 'PUT', body: json({ ...before.result, webhooks: [{ name: 'ops', url: 'https://hooks.example.com/x', secret: 'WEBHOOK_UNSET' }] }) },
        'webhooks[0].secret',
      ],
    ];
    for (const [path, init, field] of cases) {
      const res = await call(path, init);
      expect(res.status, field).toBe(400);
      const body = await res.json<{ errors: { path: string; message: string }[] }>();
      expect(body.errors, field).toEqual([
        {
          code: expect.any(Number),
          path: field,
          message: expect.stringMatching(/^[a-z_.[\]0-9]+: no Worker secret named [A-Z_]+ is set: `wrangler secret put/),
        },
      ]);
    }
    const made = await (
      await call('/webhooks', { method: 'POST', body: json({ name: 'ops', url: 'https://hooks.example.com/x', secret: 'WEBHOOK_TEST_SECRET' }) })
    ).json<{ result: { id: string } }>();
    const patched = await call(`/webhooks/${made.result.id}`, { method: 'PATCH', body: json({ secret: 'WEBHOOK_UNSET' }) });
    expect(patched.status).toBe(400);
    expect((await (await call(`/webhooks/${made.result.id}`)).json<{ result: { secret: string } }>()).result.secret).toBe('WEBHOOK_TEST_SECRET');
    expect((await call(`/webhooks/${made.result.id}`, { method: 'DELETE' })).status).toBe(200);
    // Nothing of the refused writes is stored (the version moved only for the webhook made and deleted here).
    const { version: _, ...after } = (await (await call('/config')).json<{ result: { version: number } }>()).result;
    const { version: __, ...was } = before.result as { version: number };
    expect(after).toEqual(was);
  });
});
