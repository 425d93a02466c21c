import { describe, expect, it } from 'vitest';
import {
  EMPTY_DOCUMENT,
  MonitorSchema,
  createResource,
  deleteResource,
  etagOf,
  ifMatchAdmits,
  importDocument,
  mergePatch,
  patchResource,
  replaceResource,
  type ConfigDocument,
  type WriteContext,
} from './index.ts';

let n = 0;
const ctx: WriteContext = { newId: () => `id${++n}`, now: () => '2026-01-01T00:00:00.000Z' };
const pool = (name: string, extra: object = {}) => ({ name, origins: [{ name: 'o1', address: '127.0.0.1', port: 9001 }], ...extra });
const lb = (name: string, pools: string[], extra: object = {}) => ({ name, default_pools: pools, fallback_pool: pools[0], ...extra });

function must<T>(o: { ok: true; value: T } | { ok: false; errors: unknown }): T {
  if (!o.ok) throw new Error(JSON.stringify(o.errors));
  return o.value;
}

describe('schemas', () => {
  it("fill Cloudflare's defaults", () => {
    const m = MonitorSchema.parse({});
    expect(m).toMatchObject({
      type: 'http',
      method: 'GET',
      path: '/',
      expected_codes: '200',
      interval: 60,
      timeout: 5,
      retries: 2,
      consecutive_up: 1,
      consecutive_down: 1,
    });
    expect(MonitorSchema.parse({ type: 'tcp' }).method).toBe('connection_established');
    const { item } = must(createResource(EMPTY_DOCUMENT, 'pools', pool('p'), ctx));
    expect(item).toMatchObject({ enabled: true, minimum_origins: 1, origin_steering: { policy: 'random' } });
    expect(item.origins[0]).toMatchObject({ weight: 1, enabled: true, port: 9001, header: {} });
  });

  it('name each bad field with its path and reason', () => {
    const out = createResource(EMPTY_DOCUMENT, 'pools', { name: 'p', origins: [{ name: 'a', address: 'not an address!', weight: 2 }], colour: 'red' }, ctx);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.status).toBe(400);
    const messages = out.errors.map((e) => e.message);
    expect(messages).toContain('colour: unknown field');
    expect(messages).toContain('origins[0].address: must be an IPv4 address, an IPv6 address or a hostname');
    expect(messages.some((m) => m.startsWith('origins[0].weight: '))).toBe(true);
    expect(out.errors.find((e) => e.path === 'origins[0].weight')).toBeDefined();
  });

  it('refuse what validation once accepted and traffic could not survive: names and values that become headers, cookies or keys', () => {
    const errors = (kind: 'pools' | 'load_balancers' | 'monitors', body: object) => {
      const out = createResource(EMPTY_DOCUMENT, kind, body, ctx);
      return out.ok ? [] : out.errors.map((e) => e.message).filter((m) => !m.includes('unknown pool'));
    };
    expect(
      errors('load_balancers', lb('a.example.com', ['p'], { session_affinity: 'header', session_affinity_attributes: { headers: ['x session'] } })),
    ).toEqual([expect.stringMatching(/^session_affinity_attributes\.headers\[0\]: must be a header name/)]);
    expect(
      errors('load_balancers', lb('a.example.com', ['p'], { session_affinity: 'header', session_affinity_attributes: { headers: ['cookie:a,b c'] } })),
    ).toHaveLength(1);
    expect(
      errors('load_balancers', lb('a.example.com', ['p'], { session_affinity: 'header', session_affinity_attributes: { headers: ['cookie:sid', 'x-user'] } })),
    ).toEqual([]);
    expect(errors('pools', pool('p', { origin_steering: { policy: 'hash', hash_key: { type: 'header', name: 'x user' } } }))[0]).toMatch(
      /^origin_steering\.hash_key\.name: must be a header name/,
    );
    expect(errors('pools', { name: 'p', origins: [{ name: 'a\nb', address: '127.0.0.1' }] })[0]).toMatch(/^origins\[0\]\.name: must be 1-128 characters/);
    expect(errors('pools', { name: 'p', origins: [{ name: 'a|b', address: '127.0.0.1' }] })).toHaveLength(1);
    expect(errors('pools', { name: 'p', origins: [{ name: '__proto__', address: '127.0.0.1' }] })).toEqual([
      'origins[0].name: is a reserved name (__proto__, constructor, prototype)',
    ]);
    expect(errors('monitors', { header: { 'x-probe': ['ok\r\nx-injected: 1'] } })[0]).toMatch(/^header\.x-probe\[0\]: must be a header value/);
  });

  it('refuse ids that JavaScript objects treat specially', () => {
    for (const id of ['__proto__', 'constructor', 'prototype']) {
      const out = importDocument(EMPTY_DOCUMENT, { monitors: [], pools: [{ id, ...pool('p') }], load_balancers: [] }, ctx);
      expect(out.ok, id).toBe(false);
      if (!out.ok) expect(out.errors[0]!.message).toBe('pools[0].id: is a reserved name (__proto__, constructor, prototype)');
    }
  });

  it('reports a missing required field as required', () => {
    const out = createResource(EMPTY_DOCUMENT, 'load_balancers', { name: 'a.example.com' }, ctx);
    expect(!out.ok && out.errors.map((e) => e.message)).toEqual(['default_pools: is required', 'fallback_pool: is required']);
  });

  it('accept exact and wildcard hostnames, lower-cased, and reject the rest', () => {
    const doc = must(createResource(EMPTY_DOCUMENT, 'pools', pool('p'), ctx)).doc;
    const id = doc.pools[0]!.id;
    expect(must(createResource(doc, 'load_balancers', lb('App.Example.COM', [id]), ctx)).item.name).toBe('app.example.com');
    expect(must(createResource(doc, 'load_balancers', lb('*.example.com', [id]), ctx)).item.name).toBe('*.example.com');
    for (const bad of ['a..b', '-a.com', 'a.*.com', 'http://a.com', '']) {
      expect(createResource(doc, 'load_balancers', lb(bad, [id]), ctx).ok, bad).toBe(false);
    }
  });

  it('enforce cross-field rules', () => {
    const out = createResource(EMPTY_DOCUMENT, 'monitors', { interval: 5, timeout: 5 }, ctx);
    expect(!out.ok && out.errors[0]!.message).toBe('timeout: must be shorter than interval');
    const dup = createResource(
      EMPTY_DOCUMENT,
      'pools',
      {
        name: 'p',
        origins: [
          { name: 'a', address: '10.0.0.1' },
          { name: 'a', address: '10.0.0.2' },
        ],
      },
      ctx,
    );
    expect(!dup.ok && dup.errors[0]!.message).toBe('origins[1].name: duplicate origin name "a"');
  });
});

describe('references', () => {
  const base = (): ConfigDocument => {
    const m = must(createResource(EMPTY_DOCUMENT, 'monitors', {}, ctx));
    const p = must(createResource(m.doc, 'pools', pool('p', { monitor: m.item.id }), ctx));
    return must(createResource(p.doc, 'load_balancers', lb('a.example.com', [p.item.id]), ctx)).doc;
  };

  it('refuse an unknown pool or monitor with 400 naming the field', () => {
    const out = createResource(base(), 'load_balancers', lb('b.example.com', ['nope'], { country_pools: { DE: ['gone'] } }), ctx);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.status).toBe(400);
    expect(out.errors.map((e) => e.message)).toEqual([
      'default_pools[0]: unknown pool "nope"',
      'fallback_pool: unknown pool "nope"',
      'country_pools.DE[0]: unknown pool "gone"',
    ]);
    const p = createResource(base(), 'pools', pool('q', { monitor: 'missing' }), ctx);
    expect(!p.ok && [p.status, p.errors[0]!.message]).toEqual([400, 'monitor: unknown monitor "missing"']);
  });

  it('refuse deleting what is still referenced with 409, and allow it once unreferenced', () => {
    const doc = base();
    const out = deleteResource(doc, 'pools', doc.pools[0]!.id);
    expect(!out.ok && [out.status, out.errors[0]!.message]).toEqual([
      409,
      `pool ${doc.pools[0]!.id} is still used by load balancer ${doc.load_balancers[0]!.id} (a.example.com)`,
    ]);
    expect(deleteResource(doc, 'monitors', doc.monitors[0]!.id).ok).toBe(false);
    const noLb = must(deleteResource(doc, 'load_balancers', doc.load_balancers[0]!.id)).doc;
    expect(must(deleteResource(noLb, 'pools', doc.pools[0]!.id)).doc.pools).toEqual([]);
  });

  it('refuse a hostname already in use with 409', () => {
    const doc = base();
    const out = createResource(doc, 'load_balancers', lb('A.example.com', [doc.pools[0]!.id]), ctx);
    expect(!out.ok && out.status).toBe(409);
  });

  it('answer 400 for a document with both a 400 problem and a clash (a 409 only when nothing else is wrong)', () => {
    const p = { id: 'p', ...pool('p') };
    const clashing = {
      pools: [p],
      load_balancers: [
        { id: 'a', ...lb('a.example.com', ['p']) },
        { id: 'b', ...lb('a.example.com', ['p']) },
      ],
    };
    expect(importDocument(EMPTY_DOCUMENT, clashing, ctx)).toMatchObject({ ok: false, status: 409 });
    const both = { ...clashing, load_balancers: [...clashing.load_balancers, { id: 'c', ...lb('c.example.com', ['nope']) }] };
    const out = importDocument(EMPTY_DOCUMENT, both, ctx);
    expect(!out.ok && [out.status, out.errors.map((e) => e.path)]).toEqual([400, ['load_balancers[2].default_pools[0]', 'load_balancers[2].fallback_pool']]);
  });

  it('refuse a TCP app naming a certificate the runtime does not hold, naming the field; unchecked without hasCertificate', () => {
    const held: WriteContext = { ...ctx, hasCertificate: (id) => id === 'c'.repeat(32) };
    const doc = {
      pools: [{ id: 'p', ...pool('p') }],
      load_balancers: [{ id: 'lb', ...lb('db.example.com', ['p']) }],
      tcp_apps: [
        { name: 'pg', listen_port: 5432, load_balancer: 'lb', tls: 'terminate', certificate: 'c'.repeat(32), additional_certificates: ['d'.repeat(32)] },
      ],
    };
    const out = importDocument(EMPTY_DOCUMENT, doc, held);
    expect(!out.ok && [out.status, out.errors.map((e) => e.message)]).toEqual([
      400,
      [`tcp_apps[0].additional_certificates[0]: unknown certificate "${'d'.repeat(32)}": upload it first (POST /admin/v1/certificates)`],
    ]);
    expect(importDocument(EMPTY_DOCUMENT, doc, ctx).ok).toBe(true);
  });

  it('refuse a secret binding the runtime says is not set, naming the field; unchecked without hasSecret', () => {
    const bound: WriteContext = { ...ctx, hasSecret: (name) => name === 'TSIG_KEY' };
    const zone = (secret: string) => ({ name: 'example.com', provider: { type: 'rfc2136', server: '192.0.2.53', tsig_key_name: 'k', tsig_secret: secret } });
    expect(createResource(EMPTY_DOCUMENT, 'dns_zones', zone('TSIG_KEY'), bound).ok).toBe(true);
    const out = createResource(EMPTY_DOCUMENT, 'dns_zones', zone('TSIG_GONE'), bound);
    expect(!out.ok && [out.status, out.errors.map((e) => e.message)]).toEqual([
      400,
      ['provider.tsig_secret: no Worker secret named TSIG_GONE is set: `wrangler secret put TSIG_GONE` (locally .dev.vars), then write this again'],
    ]);
    expect(createResource(EMPTY_DOCUMENT, 'dns_zones', zone('TSIG_GONE'), ctx).ok).toBe(true);
    const imported = importDocument(EMPTY_DOCUMENT, { webhooks: [{ name: 'w', url: 'https://h.example/x', secret: 'HOOK' }] }, bound);
    expect(!imported.ok && imported.errors.map((e) => e.path)).toEqual(['webhooks[0].secret']);
    const slack = importDocument(EMPTY_DOCUMENT, { webhooks: [{ name: 'w', url: 'https://h.example/x', format: 'slack' }] }, bound);
    expect(slack.ok).toBe(true);
  });
});

describe('writes', () => {
  it('PUT keeps id and created_on; PATCH merges (RFC 7396) and validates the result', () => {
    const later: WriteContext = { ...ctx, now: () => '2026-02-02T00:00:00.000Z' };
    const { doc, item } = must(createResource(EMPTY_DOCUMENT, 'pools', pool('p', { description: 'd' }), ctx));
    const put = must(replaceResource(doc, 'pools', item.id, { ...pool('p2'), id: 'ignored', created_on: 'x' }, later)).item;
    expect(put).toMatchObject({ id: item.id, name: 'p2', description: '', created_on: item.created_on, modified_on: '2026-02-02T00:00:00.000Z' });
    const patched = must(patchResource(doc, 'pools', item.id, { description: null, minimum_origins: 1 }, later)).item;
    expect(patched).toMatchObject({ name: 'p', description: '', origins: item.origins });
    const bad = patchResource(doc, 'pools', item.id, { origins: [] }, later);
    expect(!bad.ok && bad.errors[0]!.message).toBe('origins: Too small: expected array to have >=1 items');
    expect(patchResource(doc, 'pools', 'nope', {}, later).ok).toBe(false);
  });

  it('never mutate the input document', () => {
    const { doc } = must(createResource(EMPTY_DOCUMENT, 'pools', pool('p'), ctx));
    const frozen = JSON.stringify(doc);
    createResource(doc, 'pools', pool('q'), ctx);
    patchResource(doc, 'pools', doc.pools[0]!.id, { name: 'z' }, ctx);
    deleteResource(doc, 'pools', doc.pools[0]!.id);
    expect(JSON.stringify(doc)).toBe(frozen);
  });
});

describe("disabled_at (Cloudflare's read-only origin field)", () => {
  const at = (t: string): WriteContext => ({ newId: () => `id${++n}`, now: () => t });
  const origins = (o1: object, o2: object = {}) => [
    { name: 'o1', address: '127.0.0.1', ...o1 },
    { name: 'o2', address: '127.0.0.2', ...o2 },
  ];
  it('is set when an origin stops taking traffic, kept while it stays out, cleared when it is back, and never taken from input', () => {
    const created = must(
      createResource(
        EMPTY_DOCUMENT,
        'pools',
        { name: 'p', origins: origins({ disabled_at: '1999-01-01T00:00:00Z' }, { enabled: false }) },
        at('2026-01-01T00:00:00.000Z'),
      ),
    );
    expect(created.item.origins.map((o) => o.disabled_at)).toEqual([undefined, '2026-01-01T00:00:00.000Z']);
    const id = created.item.id;
    const drained = must(patchResource(created.doc, 'pools', id, { origins: origins({ drain: true }, { enabled: false }) }, at('2026-01-01T00:05:00.000Z')));
    expect(drained.item.origins.map((o) => o.disabled_at)).toEqual(['2026-01-01T00:05:00.000Z', '2026-01-01T00:00:00.000Z']);
    const back = must(replaceResource(drained.doc, 'pools', id, { name: 'p', origins: origins({ drain: true }) }, at('2026-01-01T00:09:00.000Z')));
    expect(back.item.origins.map((o) => o.disabled_at)).toEqual(['2026-01-01T00:05:00.000Z', undefined]);
    const imported = must(
      importDocument(
        back.doc,
        { pools: [{ ...back.item, origins: origins({ drain: true, disabled_at: 'x' }, { enabled: false }) }] },
        at('2026-01-01T00:10:00.000Z'),
      ),
    );
    expect(imported.pools[0]!.origins.map((o) => o.disabled_at)).toEqual(['2026-01-01T00:05:00.000Z', '2026-01-01T00:10:00.000Z']);
  });
});

describe('importDocument', () => {
  it('keeps given ids, generates missing ones and checks references across the document', () => {
    const out = must(
      importDocument(EMPTY_DOCUMENT, { pools: [{ id: 'p1', ...pool('p') }, pool('q')], load_balancers: [{ ...lb('a.example.com', ['p1']) }] }, ctx),
    );
    expect(out.pools.map((p) => p.id)[0]).toBe('p1');
    expect(out.pools[1]!.id).toMatch(/^id\d+$/);
  });

  it('reports every error of every object with document paths, and returns no document', () => {
    const out = importDocument(
      EMPTY_DOCUMENT,
      {
        pools: [{ id: 'p1', ...pool('p') }, { id: 'p1', ...pool('q') }, { name: 'x' }],
        load_balancers: [lb('a.example.com', ['p9'])],
        extra: 1,
      },
      ctx,
    );
    expect(!out.ok && out.errors.map((e) => e.message)).toEqual(['extra: unknown field']);
    const out2 = importDocument(EMPTY_DOCUMENT, { pools: [{ id: 'p1', ...pool('p') }, { id: 'p1', ...pool('q') }, { name: 'x' }] }, ctx);
    expect(!out2.ok && out2.errors.map((e) => e.message)).toEqual(['pools[1].id: duplicate id "p1"', 'pools[2].origins: is required']);
    const out3 = importDocument(EMPTY_DOCUMENT, { pools: [{ id: 'p1', ...pool('p') }], load_balancers: [lb('a.example.com', ['p9'])] }, ctx);
    expect(!out3.ok && out3.errors.map((e) => e.message)).toEqual([
      'load_balancers[0].default_pools[0]: unknown pool "p9"',
      'load_balancers[0].fallback_pool: unknown pool "p9"',
    ]);
  });
});

describe('helpers', () => {
  it('mergePatch follows RFC 7396 appendix A', () => {
    expect(mergePatch({ a: 'b' }, { a: 'c' })).toEqual({ a: 'c' });
    expect(mergePatch({ a: 'b' }, { a: null })).toEqual({});
    expect(mergePatch({ a: [{ b: 'c' }] }, { a: [1] })).toEqual({ a: [1] });
    expect(mergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } })).toEqual({ a: { b: 'd' } });
    expect(mergePatch(['a'], { a: 'b' })).toEqual({ a: 'b' });
    expect(mergePatch({ e: null }, { a: 1 })).toEqual({ e: null, a: 1 });
  });

  it('etags are strong, content-derived, and If-Match compares them strongly', () => {
    expect(etagOf({ a: 1 })).toBe(etagOf({ a: 1 }));
    expect(etagOf({ a: 1 })).not.toBe(etagOf({ a: 2 }));
    const tag = etagOf({ a: 1 });
    expect(ifMatchAdmits(undefined, tag)).toBe(true);
    expect(ifMatchAdmits('*', tag)).toBe(true);
    expect(ifMatchAdmits(`"x", ${tag}`, tag)).toBe(true);
    expect(ifMatchAdmits(`W/${tag}`, tag)).toBe(false);
    expect(ifMatchAdmits('"other"', tag)).toBe(false);
  });
});
