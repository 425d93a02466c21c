/**
 * Cloudflare's Load Balancing API paths, driven by Cloudflare's own SDK (npm `cloudflare`) pointed
 * at the Worker by its baseURL: monitors, pools and load balancers through every method, paging,
 * pool health, the two-step previews against real origins on 127.0.0.1, typed errors carrying our
 * messages, and the read-only token's refusals.
 */
import { SELF } from 'cloudflare:test';
import Cloudflare, { BadRequestError, ConflictError, NotFoundError, PermissionDeniedError } from 'cloudflare';
import { describe, expect, inject, it } from 'vitest';

const account_id = '023e105f4ecef8ad9ca31a8372d0c353';
const zone_id = '699d98642c564d2e855e9661899b7252';
const ADMIN = 'http://localhost/admin/v1';

/** An SDK client on the local Worker; `calls` counts the requests it sent (retries included). */
function sdk(apiToken = 'test-admin-token', maxRetries = 0) {
  const calls = { n: 0 };
  const client = new Cloudflare({
    apiToken,
    baseURL: 'http://localhost/client/v4',
    maxRetries,
    fetch: (url, init) => {
      calls.n++;
      return SELF.fetch(url, init);
    },
  });
  return { cf: client, calls };
}
const { cf } = sdk();

const admin = (path: string, init: RequestInit = {}) =>
  SELF.fetch(`${ADMIN}${path}`, { ...init, headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' } });

const monitorBody = { type: 'http' as const, path: '/health', expected_codes: '200', interval: 60, timeout: 5, retries: 2, description: 'web' };
const origin = (name: string, address: string) => ({ name, address, weight: 1, enabled: true });

describe('Cloudflare v4: monitors', () => {
  it('create, get, list with paging, update, edit and delete', async () => {
    const created = await cf.loadBalancers.monitors.create({ account_id, ...monitorBody });
    expect(created.id).toMatch(/^[0-9a-f]{32}$/);
    expect(created).toMatchObject({ type: 'http', path: '/health', expected_codes: '200', description: 'web' });
    expect(await cf.loadBalancers.monitors.get(created.id!, { account_id })).toEqual(created);

    const more = [await cf.loadBalancers.monitors.create({ account_id, ...monitorBody, description: 'b' })];
    more.push(await cf.loadBalancers.monitors.create({ account_id, ...monitorBody, description: 'c' }));
    const all = await cf.loadBalancers.monitors.list({ account_id });
    expect(all.result.map((m) => m.id)).toEqual(expect.arrayContaining([created.id, ...more.map((m) => m.id)]));

    const raw = await cf.loadBalancers.monitors.list({ account_id }, { query: { page: 2, per_page: 2 } }).asResponse();
    const page = await raw.json<{ success: boolean; result: unknown[]; result_info: Record<string, number> }>();
    const total = all.result.length;
    expect(page.success).toBe(true);
    expect(page.result).toEqual(all.result.slice(2, 4));
    expect(page.result_info).toEqual({ page: 2, per_page: 2, count: Math.min(2, total - 2), total_count: total, total_pages: Math.ceil(total / 2) });

    const updated = await cf.loadBalancers.monitors.update(created.id!, { account_id, ...monitorBody, path: '/ready' });
    expect(updated).toMatchObject({ id: created.id, path: '/ready', description: 'web' });
    const edited = await cf.loadBalancers.monitors.edit(created.id!, { account_id, description: 'edited' });
    expect(edited).toMatchObject({ id: created.id, path: '/ready', description: 'edited', interval: 60 });

    expect(await cf.loadBalancers.monitors.delete(created.id!, { account_id })).toEqual({ id: created.id });
    await expect(cf.loadBalancers.monitors.get(created.id!, { account_id })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('answers a bad body with the SDK typed error, carrying our message and a JSON pointer', async () => {
    const err = await cf.loadBalancers.monitors.create({ account_id, ...monitorBody, interval: -1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    const bad = err as BadRequestError;
    expect(bad.status).toBe(400);
    expect(bad.message).toContain('interval: Too small');
    expect(bad.errors).toContainEqual(expect.objectContaining({ code: 1001, source: { pointer: '/interval' } }));
    const list = await cf.loadBalancers.monitors.list({ account_id });
    expect(list.result.some((m) => m.interval === -1)).toBe(false);
  });
});

describe('Cloudflare v4: pools', () => {
  it('create, list by monitor, get, health, update, edit and delete; our extension fields survive', async () => {
    const monitor = await cf.loadBalancers.monitors.create({ account_id, ...monitorBody });
    const pool = await cf.loadBalancers.pools.create({ account_id, name: 'cf-pool', monitor: monitor.id, origins: [origin('a', '192.0.2.1')] });
    expect(pool).toMatchObject({ name: 'cf-pool', monitor: monitor.id, origins: [{ name: 'a', address: '192.0.2.1' }] });
    const other = await cf.loadBalancers.pools.create({ account_id, name: 'cf-other', origins: [origin('b', '192.0.2.2')] });

    const byMonitor = await cf.loadBalancers.pools.list({ account_id, monitor: monitor.id });
    expect(byMonitor.result.map((p) => p.id)).toEqual([pool.id]);
    expect(await cf.loadBalancers.pools.get(pool.id!, { account_id })).toEqual(pool);

    const health = await cf.loadBalancers.pools.health.get(pool.id!, { account_id });
    expect(health).toMatchObject({ pool_id: pool.id, pop_health: { global: { origins: [{ '192.0.2.1': { healthy: expect.any(Boolean) } }] } } });

    // An extension of ours (draining an origin) set through the admin API, which Cloudflare's shape cannot carry.
    expect((await admin(`/pools/${pool.id}/origins/a`, { method: 'PATCH', body: JSON.stringify({ drain: true }) })).status).toBe(200);
    const updated = await cf.loadBalancers.pools.update(pool.id!, { account_id, name: 'cf-pool', origins: [origin('a', '192.0.2.9')] });
    expect(updated).toMatchObject({ name: 'cf-pool', origins: [{ address: '192.0.2.9' }] });
    expect(updated.monitor).toBeUndefined(); // PUT replaces: absent means unset
    const edited = await cf.loadBalancers.pools.edit(pool.id!, { account_id, enabled: false });
    expect(edited).toMatchObject({ enabled: false, origins: [{ address: '192.0.2.9' }] });
    const ours = await (await admin(`/pools/${pool.id}`)).json<{ result: { origins: { drain: boolean }[] } }>();
    expect(ours.result.origins[0]!.drain).toBe(true);

    for (const id of [pool.id!, other.id!]) expect(await cf.loadBalancers.pools.delete(id, { account_id })).toEqual({ id });
    await cf.loadBalancers.monitors.delete(monitor.id!, { account_id });
  });
});

describe('Cloudflare v4: load balancers', () => {
  it('create on the zone path, read on both paths, list, update, edit and delete; a referenced pool is a final 409', async () => {
    const pool = await cf.loadBalancers.pools.create({ account_id, name: 'cf-lb-pool', origins: [origin('a', '192.0.2.1')] });
    const lb = await cf.loadBalancers.create({ zone_id, name: 'cf.example.com', default_pools: [pool.id!], fallback_pool: pool.id! });
    expect(lb).toMatchObject({ name: 'cf.example.com', default_pools: [pool.id], fallback_pool: pool.id, proxied: false }); // Cloudflare's default
    const again = await cf.loadBalancers.create({ zone_id, name: 'cf2.example.com', default_pools: [pool.id!], fallback_pool: pool.id! }).asResponse();
    const { messages, result } = await again.json<{ messages: { code: number; message: string }[]; result: { id: string } }>();
    expect(messages).toContainEqual({ code: 1000, message: expect.stringMatching(/^proxied: absent, so Cloudflare's default applies: false/) });
    await cf.loadBalancers.delete(result.id, { account_id });
    expect(await cf.loadBalancers.get(lb.id!, { zone_id })).toEqual(lb);
    expect(await cf.loadBalancers.get(lb.id!, { account_id })).toEqual(lb);
    expect((await cf.loadBalancers.list({ zone_id })).result.map((x) => x.id)).toContain(lb.id);

    const updated = await cf.loadBalancers.update(lb.id!, { zone_id, name: 'cf.example.com', default_pools: [pool.id!], fallback_pool: pool.id!, ttl: 60 });
    expect(updated).toMatchObject({ ttl: 60, proxied: false });
    const edited = await cf.loadBalancers.edit(lb.id!, { zone_id, proxied: true, description: 'edge' });
    expect(edited).toMatchObject({ ttl: 60, proxied: true, description: 'edge' });

    const { cf: retrying, calls } = sdk('test-admin-token', 2);
    const err = await retrying.loadBalancers.pools.delete(pool.id!, { account_id }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(calls.n).toBe(1); // x-should-retry: false, though the SDK retries 409 by default

    expect(await cf.loadBalancers.delete(lb.id!, { zone_id })).toEqual({ id: lb.id });
    await cf.loadBalancers.pools.delete(pool.id!, { account_id });
  });
});

describe('Cloudflare v4: two-step previews (real origins on 127.0.0.1: one answering, one refusing)', () => {
  const ports = inject('probePorts');
  const probe = { type: 'http' as const, path: '/ok', expected_codes: '200', timeout: 2, retries: 0, interval: 60 };
  const up = `127.0.0.1`;

  it('monitors.previews.create probes every pool using the monitor with the details given; previews.get reads the result', async () => {
    const monitor = await cf.loadBalancers.monitors.create({ account_id, ...monitorBody, path: '/fail' });
    const mixed = await cf.loadBalancers.pools.create({
      account_id,
      name: 'pv-mixed',
      monitor: monitor.id,
      origins: [
        { ...origin('good', up), port: ports.http },
        { ...origin('bad', '127.0.0.2'), port: ports.closed },
      ],
    } as Parameters<typeof cf.loadBalancers.pools.create>[0]);
    const alsoUp = await cf.loadBalancers.pools.create({
      account_id,
      name: 'pv-up',
      monitor: monitor.id,
      origins: [{ ...origin('g', up), port: ports.http }],
    } as Parameters<typeof cf.loadBalancers.pools.create>[0]);
    const unmonitored = await cf.loadBalancers.pools.create({ account_id, name: 'pv-none', origins: [origin('x', '192.0.2.1')] });

    const started = await cf.loadBalancers.monitors.previews.create(monitor.id!, { account_id, ...probe });
    expect(started.preview_id).toMatch(/^[0-9a-f]{32}$/);
    expect(started.pools).toEqual({ [mixed.id!]: 'pv-mixed', [alsoUp.id!]: 'pv-up' });

    const result = await cf.loadBalancers.previews.get(started.preview_id!, { account_id });
    expect(Object.keys(result).sort()).toEqual([mixed.id, alsoUp.id].sort());
    // The body's path (/ok), not the stored monitor's (/fail): the answering origin passes.
    const [good, bad] = result[mixed.id!]!.origins!;
    expect(good![up]).toMatchObject({ healthy: true, response_code: 200, rtt: expect.stringMatching(/^\d+ms$/) });
    expect(good![up]!.failure_reason).toBeUndefined();
    expect(bad!['127.0.0.2']).toMatchObject({ healthy: false, failure_reason: expect.any(String), rtt: expect.stringMatching(/^\d+ms$/) });
    expect(bad!['127.0.0.2']!.response_code).toBeUndefined();
    expect(result[mixed.id!]!.healthy).toBe(true); // minimum_origins 1: one origin passed
    expect(result[alsoUp.id!]).toMatchObject({ healthy: true });

    // The stored monitor's own details (/fail) fail the same origin: the body is what is probed.
    const failing = await cf.loadBalancers.monitors.previews.create(monitor.id!, { account_id, ...probe, path: '/fail' });
    const failed = await cf.loadBalancers.previews.get(failing.preview_id!, { account_id });
    expect(failed[alsoUp.id!]).toEqual({ healthy: false, origins: [{ [up]: expect.objectContaining({ healthy: false, response_code: 500 }) }] });

    for (const p of [mixed, alsoUp, unmonitored]) await cf.loadBalancers.pools.delete(p.id!, { account_id });
    await cf.loadBalancers.monitors.delete(monitor.id!, { account_id });
  });

  it('pools.health.create previews one pool; a pool of refusing origins is unhealthy', async () => {
    const pool = await cf.loadBalancers.pools.create({
      account_id,
      name: 'pv-pool',
      minimum_origins: 2,
      origins: [
        { ...origin('good', up), port: ports.http },
        { ...origin('bad', up), port: ports.closed },
      ],
    } as Parameters<typeof cf.loadBalancers.pools.create>[0]);
    const started = await cf.loadBalancers.pools.health.create(pool.id!, { account_id, ...probe });
    expect(started.pools).toEqual({ [pool.id!]: 'pv-pool' });
    const result = await cf.loadBalancers.previews.get(started.preview_id!, { account_id });
    expect(result[pool.id!]!.healthy).toBe(false); // minimum_origins 2, one passed
    expect(result[pool.id!]!.origins!.map((o) => o[up]!.healthy)).toEqual([true, false]);
    const tcp = await cf.loadBalancers.pools.health.create(pool.id!, { account_id, type: 'tcp', timeout: 2, retries: 0 });
    const byTcp = await cf.loadBalancers.previews.get(tcp.preview_id!, { account_id });
    expect(byTcp[pool.id!]!.origins!.map((o) => o[up]!.healthy)).toEqual([true, false]);
    await cf.loadBalancers.pools.delete(pool.id!, { account_id });
  });

  it('refuses what it cannot preview, naming the field; unknown ids are 404; a read-only token reads results but cannot start one', async () => {
    const pool = await cf.loadBalancers.pools.create({ account_id, name: 'pv-refuse', origins: [origin('a', '192.0.2.1')] });
    const icmp = await cf.loadBalancers.pools.health.create(pool.id!, { account_id, type: 'icmp_ping' } as never).catch((e: unknown) => e);
    expect(icmp).toBeInstanceOf(BadRequestError);
    expect((icmp as BadRequestError).errors[0]).toMatchObject({ source: { pointer: '/type' }, message: expect.stringContaining('icmp_ping cannot be probed') });
    const bad = await cf.loadBalancers.pools.health.create(pool.id!, { account_id, timeout: 99 }).catch((e: unknown) => e);
    expect((bad as BadRequestError).errors[0]).toMatchObject({ source: { pointer: '/timeout' } });

    await expect(cf.loadBalancers.pools.health.create('nope', { account_id, ...probe })).rejects.toBeInstanceOf(NotFoundError);
    await expect(cf.loadBalancers.monitors.previews.create('nope', { account_id, ...probe })).rejects.toBeInstanceOf(NotFoundError);
    await expect(cf.loadBalancers.previews.get('0'.repeat(32), { account_id })).rejects.toBeInstanceOf(NotFoundError);
    await expect(cf.loadBalancers.previews.get('not-an-id', { account_id })).rejects.toBeInstanceOf(NotFoundError);

    const started = await cf.loadBalancers.pools.health.create(pool.id!, { account_id, ...probe, timeout: 1 });
    const { cf: reader } = sdk('test-read-token');
    expect(Object.keys(await reader.loadBalancers.previews.get(started.preview_id!, { account_id }))).toEqual([pool.id]);
    await expect(reader.loadBalancers.pools.health.create(pool.id!, { account_id, ...probe })).rejects.toBeInstanceOf(PermissionDeniedError);
    await cf.loadBalancers.pools.delete(pool.id!, { account_id });
  });
});

describe('Cloudflare v4: auth and routes', () => {
  it('lets a read-only token read and refuses its writes with 403', async () => {
    const { cf: reader } = sdk('test-read-token');
    expect((await reader.loadBalancers.monitors.list({ account_id })).result).toBeInstanceOf(Array);
    await expect(reader.loadBalancers.monitors.create({ account_id, ...monitorBody })).rejects.toBeInstanceOf(PermissionDeniedError);
    const { cf: stranger } = sdk('wrong-token');
    await expect(stranger.loadBalancers.monitors.list({ account_id })).rejects.toMatchObject({ status: 401 });
  });

  it("answers paths it does not serve with Cloudflare's 7000, and serves only on admin hosts", async () => {
    const monitor = await cf.loadBalancers.monitors.create({ account_id, ...monitorBody });
    const err = await cf.loadBalancers.monitors.references.get(monitor.id!, { account_id }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).errors[0]).toMatchObject({ code: 7000 });
    const elsewhere = await SELF.fetch(`http://app.example.com/client/v4/accounts/${account_id}/load_balancers/monitors`, {
      headers: { authorization: 'Bearer test-admin-token' },
    });
    expect(await elsewhere.text()).toContain('No load balancer is configured for host app.example.com');
  });
});
