/**
 * The proxy through its dependencies, in plain Node: the real Isolate, routing and affinity,
 * with a fake clock, scripted origins behind a fake `fetch`, and in-memory Durable Object clients
 * (test/fixtures/proxy-harness.ts).
 */
import { describe, expect, it } from 'vitest';
import { harness } from '../../test/fixtures/proxy-harness.ts';

const origins = (...ports: number[]) => ports.map((port) => ({ name: `o${port}`, address: '127.0.0.1', port }));
const config = (lb: Record<string, unknown>, pools: { id: string; ports: number[] }[] = [{ id: 'p', ports: [1, 2, 3, 4, 5] }]) => ({
  monitors: [],
  pools: pools.map(({ id, ports }) => ({ id, name: id, origins: origins(...ports), origin_steering: { policy: 'first' } })),
  load_balancers: [{ id: 'lb', name: 'app.example.com', default_pools: pools.map((p) => p.id), fallback_pool: pools[0]!.id, ...lb }],
});
const cookieOf = (res: Response) => /__cflb=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];

describe('retries', () => {
  it('tries at most 3 origins of a pool, and 3 more in the next pool with failover_across_pools', async () => {
    const h = harness(config({}));
    for (const p of [1, 2, 3, 4, 5]) h.origin(p, 'refuse');
    const res = await h.request('http://app.example.com/');
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('(3 tried)');
    expect(h.sent.map((s) => s.origin)).toEqual(['1', '2', '3']);

    const two = harness(
      config({ adaptive_routing: { failover_across_pools: true } }, [
        { id: 'a', ports: [1, 2, 3, 4] },
        { id: 'b', ports: [5, 6, 7, 8] },
      ]),
    );
    for (const p of [1, 2, 3, 4, 5, 6]) two.origin(p, 'refuse');
    const ok = await two.request('http://app.example.com/');
    expect(ok.headers.get('x-origin')).toBe('7');
    expect(two.sent.map((s) => s.origin)).toEqual(['1', '2', '3', '5', '6', '7']); // origin 4 of pool a is never tried
  });

  it('does not retry a request whose body cannot be replayed (streamed, no Content-Length)', async () => {
    const h = harness(config({}));
    h.origin(1, 'refuse');
    const body = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('charge=100')), c.close()) });
    const res = await h.request('http://app.example.com/pay', { method: 'PUT', body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(503);
    expect(h.sent.map((s) => s.origin)).toEqual(['1']);
  });

  it('replays a buffered body on the next origin byte for byte', async () => {
    const h = harness(config({}));
    h.origin(1, 'refuse');
    const res = await h.request('http://app.example.com/put', { method: 'PUT', body: 'name=x&n=1', headers: { 'content-length': '10' } });
    expect(res.headers.get('x-origin')).toBe('2');
    expect(h.sent.map((s) => [s.origin, s.method, s.body])).toEqual([
      ['1', 'PUT', 'name=x&n=1'],
      ['2', 'PUT', 'name=x&n=1'],
    ]);
  });
});

describe('cookie affinity: zero_downtime_failover', () => {
  const pinned = async (mode: 'none' | 'temporary' | 'sticky') => {
    const h = harness(config({ session_affinity: 'cookie', session_affinity_attributes: { zero_downtime_failover: mode } }, [{ id: 'p', ports: [1, 2] }]));
    const first = await h.request('http://app.example.com/');
    expect(first.headers.get('x-origin')).toBe('1');
    const cookie = cookieOf(first)!;
    expect(cookie).toBeTruthy();
    h.origin(1, 'refuse');
    h.sent.length = 0;
    const res = await h.request('http://app.example.com/', { headers: { cookie: `a=b; __cflb=${cookie}` } });
    return { h, res, cookie };
  };

  it('none: a failure on the pinned origin is not retried elsewhere', async () => {
    const { h, res } = await pinned('none');
    expect(res.status).toBe(503);
    expect(h.sent.map((s) => s.origin)).toEqual(['1']);
  });

  it('temporary: served elsewhere, the cookie unchanged', async () => {
    const { h, res } = await pinned('temporary');
    expect(res.headers.get('x-origin')).toBe('2');
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(h.sent.map((s) => s.origin)).toEqual(['1', '2']);
  });

  it('sticky: served elsewhere and the cookie moves to the origin that answered', async () => {
    const { h, res, cookie } = await pinned('sticky');
    expect(res.headers.get('x-origin')).toBe('2');
    const moved = cookieOf(res);
    expect(moved).toBeTruthy();
    expect(moved).not.toBe(cookie);
    h.origin(1, 200);
    const back = await h.request('http://app.example.com/', { headers: { cookie: `__cflb=${moved}` } });
    expect(back.headers.get('x-origin')).toBe('2');
  });

  it('never shows the origin our cookie, and pins nothing on an error answer', async () => {
    const h = harness(config({ session_affinity: 'cookie' }, [{ id: 'p', ports: [1, 2] }]));
    h.origin(1, 404);
    const res = await h.request('http://app.example.com/', { headers: { cookie: '__cflb=forged.sig; theirs=1' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(h.sent[0]!.headers.get('cookie')).toBe('theirs=1');
  });
});

describe('header affinity: the isolate pin cache', () => {
  const lb = { session_affinity: 'header', session_affinity_ttl: 60, session_affinity_attributes: { headers: ['x-session'] } };

  it('evicts the least recently used pin past its cap (counted) and asks the table again for it', async () => {
    const h = harness(config(lb, [{ id: 'p', ports: [1, 2] }]), { maxCachedPins: 2 });
    for (const s of ['a', 'b']) await h.request('http://app.example.com/', { headers: { 'x-session': s } });
    await h.settle();
    await h.request('http://app.example.com/', { headers: { 'x-session': 'a' } }); // a is now the most recent
    const gets = h.calls.affinityGet;
    await h.request('http://app.example.com/', { headers: { 'x-session': 'c' } }); // evicts b
    await h.settle();
    expect(h.isolate.pins.evictions).toBe(1);
    expect(h.isolate.pins.size).toBe(2);
    await h.request('http://app.example.com/', { headers: { 'x-session': 'a' } });
    expect(h.calls.affinityGet).toBe(gets + 1); // c's miss only: a is still cached
    await h.request('http://app.example.com/', { headers: { 'x-session': 'b' } });
    expect(h.calls.affinityGet).toBe(gets + 2); // b was evicted: asked again
  });

  it('refreshes the idle TTL in the table at most once per half TTL', async () => {
    const h = harness(config(lb, [{ id: 'p', ports: [1, 2] }]));
    await h.request('http://app.example.com/', { headers: { 'x-session': 's' } });
    await h.settle();
    const puts = h.calls.affinityPut;
    await h.advance(20_000);
    await h.request('http://app.example.com/', { headers: { 'x-session': 's' } });
    await h.settle();
    expect(h.calls.affinityPut).toBe(puts); // 20 s < 30 s: no refresh
    await h.advance(11_000);
    await h.request('http://app.example.com/', { headers: { 'x-session': 's' } });
    await h.settle();
    expect(h.calls.affinityPut).toBe(puts + 1);
    expect([...h.table.values()][0]!.expiresAt).toBeGreaterThan(1_000_000 + 31_000 + 59_000);
  });

  it('stores a hash of the session key, never the header value', async () => {
    const h = harness(config(lb, [{ id: 'p', ports: [1, 2] }]));
    await h.request('http://app.example.com/', { headers: { 'x-session': 'secret-value-of-a-client' } });
    await h.settle();
    const [key] = [...h.table.keys()];
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('outcome reports', () => {
  it('batches what attempts saw: at most one report per second per load balancer', async () => {
    const h = harness(config({}));
    h.origin(1, 502);
    for (let i = 0; i < 5; i++) await h.request('http://app.example.com/');
    await h.settle();
    expect(h.reports).toHaveLength(1); // the first, sent at once
    for (let i = 0; i < 5; i++) await h.request('http://app.example.com/');
    await h.advance(999);
    expect(h.reports).toHaveLength(1);
    await h.advance(1);
    expect(h.reports).toHaveLength(2);
    const all = h.reports.flatMap((r) => r.outcomes);
    expect(all.filter((o) => o.origin === 'o1').reduce((n, o) => n + o.count, 0)).toBe(10);
    expect(new Set(all.map((o) => o.outcome))).toEqual(new Set(['gateway_failure', 'success']));
  });
});

describe('nothing takes effect twice', () => {
  it('a POST whose origin timed out is not sent to another origin: our 504 instead', async () => {
    const h = harness(config({ per_try_timeout: 0.1 }, [{ id: 'p', ports: [1, 2] }]));
    h.origin(1, 'hang');
    const res = await h.request('http://app.example.com/pay', { method: 'POST', body: 'charge=100&order=42', headers: { 'content-length': '19' } });
    expect(res.status).toBe(504);
    expect(h.sent.map((s) => s.origin)).toEqual(['1']);
  });

  it('a POST moves on when the connection failed (it never reached an origin), and on a timeout with retry_non_idempotent', async () => {
    const h = harness(config({ per_try_timeout: 0.1 }, [{ id: 'p', ports: [1, 2] }]));
    h.origin(1, 'refuse');
    expect((await h.request('http://app.example.com/pay', { method: 'POST', body: 'x', headers: { 'content-length': '1' } })).headers.get('x-origin')).toBe(
      '2',
    );
    const opted = harness(config({ per_try_timeout: 0.1, retry_non_idempotent: true }, [{ id: 'p', ports: [1, 2] }]));
    opted.origin(1, 'hang');
    expect((await opted.request('http://app.example.com/pay', { method: 'POST', body: 'x', headers: { 'content-length': '1' } })).headers.get('x-origin')).toBe(
      '2',
    );
  });

  it('a GET still moves on after a timeout', async () => {
    const h = harness(config({ per_try_timeout: 0.1 }, [{ id: 'p', ports: [1, 2] }]));
    h.origin(1, 'hang');
    expect((await h.request('http://app.example.com/')).headers.get('x-origin')).toBe('2');
  });
});

describe('pins are re-checked', () => {
  it('a cookie for a pool the load balancer no longer uses is not honoured', async () => {
    const before = harness(
      config({ session_affinity: 'cookie' }, [
        { id: 'old', ports: [1] },
        { id: 'new', ports: [2] },
      ]),
    );
    const cookie = cookieOf(await before.request('http://app.example.com/'))!;
    expect(cookie).toBeTruthy();
    const after = harness({
      monitors: [],
      pools: [
        { id: 'old', name: 'old', origins: origins(1) },
        { id: 'new', name: 'new', origins: origins(2) },
      ],
      load_balancers: [{ id: 'lb', name: 'app.example.com', default_pools: ['new'], fallback_pool: 'new', session_affinity: 'cookie' }],
    });
    const res = await after.request('http://app.example.com/', { headers: { cookie: `__cflb=${cookie}` } });
    expect(res.headers.get('x-origin')).toBe('2');
    expect(cookieOf(res)).toBeTruthy(); // re-pinned to where it went
  });
});

describe('traffic outlives a sick Durable Object', () => {
  const lb = { session_affinity: 'header', session_affinity_attributes: { headers: ['x-session'] } };

  it('a cold isolate whose ConfigStore hangs answers a quick 503 with Retry-After', async () => {
    const h = harness(config({}), { refreshDeadlineMs: 50 });
    h.faults.config = 'hang';
    const started = Date.now();
    const res = await h.request('http://app.example.com/');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a stale snapshot is served when the refresh hangs or throws; LbState hanging or throwing costs neither health nor the pin lookup a 500', async () => {
    const h = harness(config(lb, [{ id: 'p', ports: [1, 2] }]), { refreshDeadlineMs: 50 });
    expect((await h.request('http://app.example.com/', { headers: { 'x-session': 'a' } })).status).toBe(200);
    for (const fault of ['hang', 'throw'] as const) {
      h.faults.config = fault;
      h.faults.lbState = fault;
      h.bumpConfig();
      await h.advance(5_000); // past maxStaleMs: requests would wait on the refresh
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => h.request('http://app.example.com/', { headers: { 'x-session': `s${i}` } })));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    }
  });
});

describe('the affinity cookie key', () => {
  it("is the ConfigStore's generated key unless AFFINITY_SECRET overrides it (never the admin token)", async () => {
    const lb = config({ session_affinity: 'cookie' }, [{ id: 'p', ports: [1, 2] }]);
    const generated = harness(lb);
    const cookie = cookieOf(await generated.request('http://app.example.com/'))!;
    expect(cookie).toBeTruthy();
    const again = await generated.request('http://app.example.com/', { headers: { cookie: `__cflb=${cookie}` } });
    expect(again.headers.get('set-cookie')).toBeNull(); // honoured under the generated key
    const overridden = harness(lb, { affinitySecret: 'operator-secret' });
    const res = await overridden.request('http://app.example.com/', { headers: { cookie: `__cflb=${cookie}` } });
    expect(cookieOf(res)).toBeTruthy(); // not readable under another key: a new session
  });
});

describe('header affinity lookups', () => {
  it('concurrent first requests of one session ask the table once', async () => {
    // An RPC takes a few ms, as a Durable Object's does: the requests overlap their lookups.
    const h = harness(config({ session_affinity: 'header', session_affinity_attributes: { headers: ['x-session'] } }, [{ id: 'p', ports: [1, 2] }]), {
      rpcDelayMs: 5,
    });
    await Promise.all(Array.from({ length: 8 }, () => h.request('http://app.example.com/', { headers: { 'x-session': 'same' } })));
    expect(h.calls.affinityGet).toBe(1);
  });
});

describe('response headers', () => {
  it('hop-by-hop fields of the origin never reach the client: Proxy-Authenticate, Proxy-Connection, and names listed in Connection', async () => {
    const h = harness(config({}, [{ id: 'p', ports: [1] }]));
    h.origin(1, { connection: 'x-internal', 'x-internal': 'secret', 'proxy-authenticate': 'Basic', 'proxy-connection': 'keep-alive', 'x-app': 'kept' });
    const res = await h.request('http://app.example.com/');
    expect(res.headers.get('x-app')).toBe('kept');
    for (const name of ['connection', 'x-internal', 'proxy-authenticate', 'proxy-connection']) expect(res.headers.get(name), name).toBeNull();
  });
});
