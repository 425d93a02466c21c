import { SELF, createExecutionContext, createScheduledController, env, runDurableObjectAlarm, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import worker from '../index.ts';
import { lbState } from '../rpc.ts';

const ports = inject('probePorts');
const TOKEN = 'test-admin-token';
const call = (path: string, init: RequestInit = {}) =>
  SELF.fetch(`http://localhost/admin/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers },
  });

describe('health through the admin API', () => {
  it('the watchdog (scheduled handler) syncs every load balancer; probes feed pool health, backend-stats and events', async () => {
    const put = await call('/config', {
      method: 'PUT',
      body: JSON.stringify({
        monitors: [{ id: 'mon', path: '/ok', interval: 5, timeout: 1, retries: 0 }],
        pools: [
          {
            id: 'web',
            name: 'web',
            monitor: 'mon',
            minimum_origins: 2,
            origins: [
              { name: 'good', address: '127.0.0.1', port: ports.http },
              { name: 'bad', address: '127.0.0.1', port: ports.closed },
            ],
          },
        ],
        load_balancers: [{ id: 'lb-h', name: 'health.example.com', default_pools: ['web'], fallback_pool: 'web' }],
      }),
    });
    expect(put.status).toBe(200);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: '* * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await lbState(env, 'lb-h').records()).map((r) => r.origin).sort()).toEqual(['bad', 'good']);
    await new Promise((r) => setTimeout(r, 1100));
    await runDurableObjectAlarm(env.LB_STATE.get(env.LB_STATE.idFromName('lb-h')));

    const health = await (
      await call('/pools/web/health')
    ).json<{
      result: {
        pool_id: string;
        healthy: boolean;
        pop_health: {
          global: { origins: Record<string, { healthy: boolean; response_code: number | null; failure_reason: string | null; rtt: number | null }>[] };
        };
      };
    }>();
    expect(health.result.pool_id).toBe('web');
    expect(health.result.healthy).toBe(false); // one usable origin, minimum_origins 2
    const [good, bad] = health.result.pop_health.global.origins;
    expect(good!.good).toMatchObject({ healthy: true, response_code: 200, failure_reason: null });
    expect(bad!.bad).toMatchObject({ healthy: false, response_code: null });
    expect(bad!.bad!.failure_reason).toMatch(/^connection failed/);

    const stats = await (
      await call('/load_balancers/lb-h/backend-stats')
    ).json<{ result: { origin: string; server_state: string; last_health_check_status: string }[] }>();
    expect(stats.result.map((s) => [s.origin, s.server_state, s.last_health_check_status])).toEqual([
      ['good', 'running', 'passed'],
      ['bad', 'stopped', 'failed'],
    ]);

    const events = await (
      await call('/load_balancers/lb-h/events?limit=1')
    ).json<{ result: { origin: string; to: string }[]; result_info: { next_before: number | null } }>();
    expect(events.result).toHaveLength(1);
    // snake_case, like every answer of the admin API
    expect(Object.keys(events.result[0]!).sort()).toEqual(['at', 'from', 'id', 'origin', 'pool_id', 'reason', 'to']);
    expect(events.result[0]).toMatchObject({ pool_id: 'web', origin: expect.any(String) });
    expect(events.result_info.next_before).not.toBeNull();
    const badQuery = await call('/load_balancers/lb-h/events?limit=0');
    expect(badQuery.status).toBe(400);
    expect((await badQuery.json<{ errors: { message: string }[] }>()).errors[0]!.message).toBe('limit: Too small: expected number to be >=1');
    expect((await call('/load_balancers/nope/events')).status).toBe(404);
    expect((await call('/pools/nope/health')).status).toBe(404);
  });
});

describe('maintenance operations', () => {
  const setup = async () => {
    const res = await call('/config', {
      method: 'PUT',
      body: JSON.stringify({
        monitors: [{ id: 'mon', path: '/ok', interval: 5, timeout: 1, retries: 0 }],
        pools: [
          {
            id: 'web',
            name: 'web',
            monitor: 'mon',
            origins: [
              { name: 'a', address: '127.0.0.1', port: ports.http, weight: 0.5, header: { Host: ['a.internal'] } },
              { name: 'b', address: '127.0.0.1', port: ports.http },
            ],
          },
        ],
        load_balancers: [{ id: 'lb-m', name: 'maint.example.com', default_pools: ['web'], fallback_pool: 'web' }],
      }),
    });
    expect(res.status).toBe(200);
  };

  it('PATCH /pools/:id/origins/:name changes one origin and keeps every other field', async () => {
    await setup();
    const res = await call('/pools/web/origins/a', { method: 'PATCH', body: JSON.stringify({ enabled: false }) });
    expect(res.status).toBe(200);
    const pool = (await res.json<{ result: { origins: { disabled_at?: string }[] } }>()).result;
    const disabledAt = pool.origins[0]!.disabled_at!;
    expect(Math.abs(Date.parse(disabledAt) - Date.now())).toBeLessThan(10_000);
    expect(pool.origins).toEqual([
      {
        name: 'a',
        address: '127.0.0.1',
        port: ports.http,
        weight: 0.5,
        enabled: false,
        drain: false,
        header: { Host: ['a.internal'] },
        disabled_at: disabledAt,
      },
      { name: 'b', address: '127.0.0.1', port: ports.http, weight: 1, enabled: true, drain: false, header: {} },
    ]);
    const bad = await call('/pools/web/origins/b', { method: 'PATCH', body: JSON.stringify({ weight: 2 }) });
    expect(bad.status).toBe(400);
    expect((await bad.json<{ errors: { message: string }[] }>()).errors[0]!.message).toBe('origins[1].weight: Too big: expected number to be <=1');
    expect((await call('/pools/web/origins/zz', { method: 'PATCH', body: '{}' })).status).toBe(404);
  });

  it('drain shows as server_state stopping', async () => {
    await setup();
    expect((await call('/pools/web/origins/b', { method: 'PATCH', body: JSON.stringify({ drain: true }) })).status).toBe(200);
    const stats = await (await call('/load_balancers/lb-m/backend-stats')).json<{ result: { origin: string; server_state: string }[] }>();
    expect(stats.result.find((s) => s.origin === 'b')!.server_state).toBe('stopping');
    const healthy = async () => (await (await call('/pools/web/health')).json<{ result: { healthy: boolean } }>()).result.healthy;
    expect(await healthy()).toBe(true);
    await call('/pools/web/origins/a', { method: 'PATCH', body: JSON.stringify({ drain: true }) });
    expect(await healthy()).toBe(false); // routing would skip a pool whose origins all drain
  });

  it('POST /monitors/:id/preview probes the given origins now', async () => {
    await setup();
    const res = await call('/monitors/mon/preview', {
      method: 'POST',
      body: JSON.stringify({
        origins: [
          { address: '127.0.0.1', port: ports.http, name: 'up' },
          { address: '127.0.0.1', port: ports.closed },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const results = (await res.json<{ result: { name: string; healthy: boolean; response_code: number | null; failure_reason: string | null }[] }>()).result;
    expect(results[0]).toMatchObject({ name: 'up', healthy: true, response_code: 200, failure_reason: null });
    expect(results[1]).toMatchObject({ name: 'preview', healthy: false, response_code: null });
    const bad = await call('/monitors/mon/preview', { method: 'POST', body: JSON.stringify({ origins: [{ address: 'not valid!' }] }) });
    expect(bad.status).toBe(400);
    expect((await bad.json<{ errors: { message: string }[] }>()).errors[0]!.message).toBe(
      'origins[0].address: must be an IPv4 address, an IPv6 address or a hostname',
    );
    // A Cloudflare monitor type a Worker cannot probe is stored, but not previewed as if it were HTTP.
    const icmp = await call('/monitors/mon', { method: 'PATCH', body: JSON.stringify({ type: 'icmp_ping' }) });
    expect(icmp.status).toBe(200);
    const unprobed = await call('/monitors/mon/preview', { method: 'POST', body: JSON.stringify({ origins: [{ address: '127.0.0.1', port: ports.http }] }) });
    expect(unprobed.status).toBe(400);
    expect((await unprobed.json<{ errors: { message: string }[] }>()).errors[0]!.message).toContain('icmp_ping, which a Worker cannot probe');
  });
});
