import { SELF, env } from 'cloudflare:test';
import { hc } from 'hono/client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { adminApp, type AdminApp } from './index.ts';
import { REGIONS } from '../../core/steer/regions.ts';
import { BODY_LIMIT, CONFIG_BODY_LIMIT, MAX_JSON_DEPTH, nestsDeeperThan } from './body.ts';

const TOKEN = 'test-admin-token';
const ADMIN = 'http://localhost/admin/v1';
const auth = { authorization: `Bearer ${TOKEN}` };

/** An admin app of its own (no Worker entry): writes are not propagated, the explainer knows nothing. */
const app = adminApp({ onWrite: () => {}, explain: async () => undefined });
const request = (path: string, init: RequestInit = {}, bindings: object = env) => app.request(`${ADMIN}${path}`, init, bindings);
const send = (path: string, method: string, body: BodyInit, headers: Record<string, string> = {}) =>
  SELF.fetch(`${ADMIN}${path}`, { method, body, headers: { ...auth, 'content-type': 'application/json', ...headers } });
type Failure = { success: false; errors: { code: number; message: string; path?: string }[]; messages: unknown[]; result: null };

describe('the OpenAPI document', () => {
  type Schema = { properties?: Record<string, Schema>; [k: string]: unknown };
  const document = async () =>
    (await (await request('/openapi.json', { headers: auth })).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, Schema> };
    };

  it('documents exactly the routes the app serves', async () => {
    const doc = await document();
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const served = app.routes
      .filter((r) => r.method !== 'ALL' && r.path !== `${ADMIN.slice('http://localhost'.length)}/openapi.json`)
      .map((r) => `${r.method} ${r.path.replace(/:([^/]+)/g, '{$1}')}`);
    expect(new Set(documented)).toEqual(new Set(served));
    expect(documented).toHaveLength(new Set(documented).size);
    expect(documented.length).toBe(56); // 6 kinds × 6, config × 2, one origin, 3 health views, 2 previews, key rotation, DNS status, webhook test and status, metrics, Cloudflare import, certificates × 6
  });

  it("names every field in snake_case (but an origin's Host header and region_pools' region codes, Cloudflare's names)", async () => {
    const doc = await document();
    const names = new Set<string>();
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) return value.forEach(walk);
      if (!value || typeof value !== 'object') return;
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'properties') Object.keys(inner as object).forEach((n) => names.add(n));
        walk(inner);
      }
    };
    walk(doc);
    const cloudflares = new Set<string>(['Host', ...REGIONS]);
    expect([...names].filter((n) => !/^[a-z][a-z0-9_]*$/.test(n) && !cloudflares.has(n))).toEqual([]);
    expect(names).toContain('Host');
    expect(names).toContain('pool_id');
  });

  it('shows the core schemas for bodies the ConfigStore validates, and references that resolve', async () => {
    const doc = await document();
    const body = (path: string, method: string) =>
      (doc.paths[path]![method] as { requestBody: { content: Record<string, { schema: unknown }> } }).requestBody.content;
    expect(body('/admin/v1/pools', 'post')['application/json']!.schema).toMatchObject({ allOf: [{ $ref: '#/components/schemas/PoolInput' }] });
    expect(body('/admin/v1/config', 'put')['application/json']!.schema).toMatchObject({ allOf: [{ $ref: '#/components/schemas/ConfigInput' }] });
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z]+/g) ?? [];
    for (const ref of new Set(refs)) expect(doc.components.schemas, ref).toHaveProperty([ref.split('/').pop()!]);
    expect(Object.keys(doc.components.schemas.MonitorInput!.properties!)).toEqual(expect.arrayContaining(['type', 'expected_codes', 'interval']));
  });
});

describe('auth (hono/bearer-auth)', () => {
  it('fails closed: without ADMIN_TOKEN every request is 401, whatever it sends, with the challenge and the envelope', async () => {
    for (const token of [undefined, '']) {
      for (const [path, headers] of [
        ['/config', {}],
        ['/config', { authorization: 'Bearer ' }],
        ['/pools', { authorization: `Bearer ${TOKEN}` }],
        ['/no/such/route', {}],
      ] as const) {
        const res = await request(path, { headers }, { ...env, ADMIN_TOKEN: token });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="edge-lb admin"');
        expect(await res.json()).toEqual({
          success: false,
          errors: [{ code: 1006, message: 'the admin API is disabled: no ADMIN_TOKEN is configured' }],
          messages: [],
          result: null,
        });
      }
    }
  });

  it('answers a wrong or malformed token 401 (not 400) in the envelope, before routing', async () => {
    for (const authorization of ['Bearer wrong', 'Bearer', 'Bearer two words', `Token ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const res = await request('/no/such/route', { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="edge-lb admin"');
      expect(((await res.json()) as Failure).errors).toEqual([{ code: 1006, message: 'a valid bearer token is required' }]);
    }
    expect((await request('/no/such/route', { headers: auth })).status).toBe(404);
  });
});

describe('hostile bodies', () => {
  it(`refuses a body over ${BODY_LIMIT / 1024} KiB (${CONFIG_BODY_LIMIT / 1024 / 1024} MiB for PUT /config) with 413, by Content-Length or counted while streamed`, async () => {
    const pool = (bytes: number) => JSON.stringify({ name: 'big', description: 'x'.repeat(bytes), origins: [{ name: 'a', address: '192.0.2.1' }] });
    const stream = (text: string) => new Blob([text]).stream();
    const cases: [string, string, BodyInit, number][] = [
      ['/pools', 'POST', pool(BODY_LIMIT), 413],
      ['/pools', 'POST', stream(pool(BODY_LIMIT)), 413],
      ['/pools/x', 'PUT', pool(BODY_LIMIT), 413],
      ['/pools/x', 'PATCH', pool(BODY_LIMIT), 413],
      ['/config', 'PUT', JSON.stringify({ pools: [{ name: 'x'.repeat(CONFIG_BODY_LIMIT) }] }), 413],
      ['/config', 'PUT', stream(JSON.stringify({ pools: [{ name: 'x'.repeat(CONFIG_BODY_LIMIT) }] })), 413],
      // Under the limit, the store judges it: a description over 1024 characters.
      ['/pools', 'POST', pool(BODY_LIMIT - 1024), 400],
      ['/config', 'PUT', JSON.stringify({ pools: [{ name: 'x'.repeat(BODY_LIMIT * 2) }] }), 400],
    ];
    for (const [path, method, body, status] of cases) {
      const res = await send(path, method, body);
      const answer = await res.json<Failure>();
      expect([res.status, answer.success, answer.result], `${method} ${path}`).toEqual([status, false, null]);
      if (status === 413) expect(answer.errors[0]!.message).toMatch(/^the body is larger than \d+ KiB/);
    }
  });

  it(`refuses JSON nested deeper than ${MAX_JSON_DEPTH} levels with 400 before parsing it`, async () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const deep = await send('/config', 'PUT', `{"pools": ${nested(100_000)}}`);
    expect(deep.status).toBe(400);
    expect((await deep.json<Failure>()).errors).toEqual([
      { code: 1001, path: '', message: `the body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep (the limit)` },
    ]);
    // At the limit, it is the store's to judge.
    const atLimit = await send('/config', 'PUT', `{"pools": ${nested(MAX_JSON_DEPTH - 1)}}`);
    expect(atLimit.status).toBe(400);
    expect((await atLimit.json<Failure>()).errors[0]!.message).toMatch(/^pools\[0\]/);
  });

  it('counts nesting outside strings only, escapes included', () => {
    expect(nestsDeeperThan('[[[]]]', 3)).toBe(false);
    expect(nestsDeeperThan('[[[[]]]]', 3)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":[{}]}}', 3)).toBe(true);
    expect(nestsDeeperThan(`{"a":"${'['.repeat(100)}"}`, 1)).toBe(false);
    expect(nestsDeeperThan(`{"a":"\\"${'{'.repeat(100)}\\\\"}`, 1)).toBe(false);
    expect(nestsDeeperThan(`["\\\\", [[`, 2)).toBe(true); // an escaped backslash does not escape the closing quote
  });

  it('keeps 415 for a body that is not JSON and 400 for broken JSON, on every route with a body', async () => {
    for (const [path, method] of [
      ['/pools', 'POST'],
      ['/config', 'PUT'],
      ['/monitors/m/preview', 'POST'],
      ['/load_balancers/x/preview', 'POST'],
      ['/pools/p/origins/a', 'PATCH'],
    ]) {
      const text = await send(path!, method!, '{}', { 'content-type': 'text/plain' });
      expect(text.status, `${method} ${path}`).toBe(415);
      expect((await text.json<Failure>()).errors[0]!.message).toBe('the body must be JSON (Content-Type: application/json)');
      const broken = await send(path!, method!, '{"a":');
      expect(broken.status, `${method} ${path}`).toBe(400);
      expect((await broken.json<Failure>()).errors[0]!.message).toMatch(/^the body is not valid JSON: /);
    }
  });
});

describe('routing explainer input', () => {
  it('refuses header names that are not RFC 9110 tokens and values with CR, LF or NUL: 400 in the envelope, not 500', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ 'Bad Name': 'x' }, 'headers.Bad Name: is not a header name (RFC 9110 token)'],
      [{ 'x-a:b': 'x' }, 'headers.x-a:b: is not a header name (RFC 9110 token)'],
      [{ '': 'x' }, 'headers.: is not a header name (RFC 9110 token)'],
      [{ 'x-a': 'one\r\nx-injected: two' }, 'headers.x-a: must not contain CR, LF, NUL or characters above U+00FF'],
      [{ 'x-a': 'nul\0' }, 'headers.x-a: must not contain CR, LF, NUL or characters above U+00FF'],
      [{ 'x-a': 'euro €' }, 'headers.x-a: must not contain CR, LF, NUL or characters above U+00FF'],
    ];
    for (const [headers, message] of cases) {
      const res = await send('/load_balancers/lb-x/preview', 'POST', JSON.stringify({ headers }));
      expect(res.status, JSON.stringify(headers)).toBe(400);
      expect((await res.json<Failure>()).errors.map((e) => e.message)).toEqual([message]);
    }
  });

  it('routes valid facts, headers included', async () => {
    const put = await send(
      '/config',
      'PUT',
      JSON.stringify({
        pools: [
          {
            id: 'p',
            name: 'p',
            origin_steering: { policy: 'hash', hash_key: { type: 'header', name: 'x-user' } },
            origins: [
              { name: 'a', address: '192.0.2.1' },
              { name: 'b', address: '192.0.2.2' },
            ],
          },
        ],
        load_balancers: [{ id: 'lb-x', name: 'explain.example.com', default_pools: ['p'], fallback_pool: 'p' }],
      }),
    );
    expect(put.status).toBe(200);
    const res = await send('/load_balancers/lb-x/preview', 'POST', JSON.stringify({ headers: { 'X-User': 'alice', 'x-tab': 'a\tb' } }));
    expect(res.status).toBe(200);
    expect((await res.json<{ result: { pool: string; hash_key: string } }>()).result).toMatchObject({ pool: 'p', hash_key: 'alice' });
    expect((await send('/load_balancers/nope/preview', 'POST', '{}')).status).toBe(404);
  });
});

describe('hc<AdminApp> (hono/client)', () => {
  it('creates and reads a pool with types taken from the route definitions', async () => {
    const client = hc<AdminApp>('http://localhost', {
      fetch: async (input: RequestInfo | URL, init?: RequestInit) => app.request(input, init, env),
      headers: auth,
    });
    const created = await client.admin.v1.pools.$post({ json: { name: 'typed', origins: [{ name: 'a', address: '192.0.2.10', weight: 0.5 }] } });
    expect(created.status).toBe(201);
    if (created.status !== 201) return;
    const { result: pool } = await created.json();
    const read = await client.admin.v1.pools[':id'].$get({ param: { id: pool.id } });
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toMatch(/^"[0-9a-f]{16}"$/);
    if (read.status !== 200) return;
    const body = await read.json();
    expectTypeOf(body.success).toEqualTypeOf<true>();
    expectTypeOf(body.result.origins[0]!.weight).toEqualTypeOf<number>();
    expectTypeOf(body.result.origin_steering.policy).toEqualTypeOf<
      'random' | 'hash' | 'least_outstanding_requests' | 'least_connections' | 'round_robin' | 'least_response_time' | 'first'
    >();
    expectTypeOf(body.result.created_on).toEqualTypeOf<string>();
    expect(body.result).toMatchObject({
      id: pool.id,
      name: 'typed',
      minimum_origins: 1,
      origins: [{ name: 'a', address: '192.0.2.10', weight: 0.5, port: 0 }],
    });

    // @ts-expect-error: the client's body is the core schema's input, where weight is a number
    const wrong = await client.admin.v1.pools.$post({ json: { name: 'typed', origins: [{ name: 'a', address: '192.0.2.10', weight: 'heavy' }] } });
    expect(wrong.status).toBe(400);

    const missing = await client.admin.v1.pools[':id'].$get({ param: { id: 'nope' } });
    expect(missing.status).toBe(404);
    if (missing.status === 404) expectTypeOf((await missing.json()).result).toEqualTypeOf<null>();
  });
});

describe('affinity cookie key', () => {
  it('rotates through the admin API: a new config version carries the new key', async () => {
    const before = await (
      await SELF.fetch('http://localhost/admin/v1/config', { headers: { authorization: 'Bearer test-admin-token' } })
    ).json<{ result: { version: number } }>();
    const res = await SELF.fetch('http://localhost/admin/v1/affinity_key/rotate', { method: 'POST', headers: { authorization: 'Bearer test-admin-token' } });
    expect(res.status).toBe(200);
    const body = await res.json<{ success: boolean; result: { version: number; keys: number } }>();
    expect(body).toMatchObject({ success: true, result: { version: before.result.version + 1, keys: 2 } });
    expect((await SELF.fetch('http://localhost/admin/v1/affinity_key/rotate', { method: 'POST' })).status).toBe(401);
  });
});
