/**
 * The webhook actions through the Worker's own fetch (SELF): test-send to the real receiver of
 * test/fixtures/webhook-receiver.ts, the delivery status, refusals.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import type { Delivery } from '../../test/fixtures/webhook-receiver.ts';

const ADMIN = 'http://localhost/admin/v1';
const receiver = inject('webhookReceiver');
const call = (path: string, method = 'GET', body?: unknown, token = 'test-admin-token') =>
  SELF.fetch(`${ADMIN}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const create = async (body: object) => (await (await call('/webhooks', 'POST', body)).json<{ result: { id: string } }>()).result.id;

describe('webhook actions', () => {
  it('test-send: one signed delivery now, answered with the receiver status and latency', async () => {
    const id = await create({ name: 'ops', url: `${receiver.url}/hook/admin-test`, secret: 'WEBHOOK_TEST_SECRET' });
    const res = await call(`/webhooks/${id}/test`, 'POST');
    expect(res.status).toBe(200);
    const { result } = await res.json<{ result: { id: string; status: number; latency_ms: number; error: null } }>();
    expect(result).toMatchObject({ status: 204, error: null, id: expect.stringMatching(/^test:[0-9a-f-]{36}$/) });
    expect(result.latency_ms).toBeGreaterThanOrEqual(0);
    const got: Delivery[] = await (await fetch(`${receiver.control}/deliveries?path=/hook/admin-test`)).json();
    expect(got.map((d) => [d.id, d.verified, d.fresh])).toEqual([[result.id, true, true]]);
  });

  it('test-send answers why nothing was delivered: a receiver that is not there, a secret that is not usable', async () => {
    const closed = await create({ name: 'gone', url: `http://127.0.0.1:${inject('probePorts').closed}/x`, secret: 'WEBHOOK_TEST_SECRET' });
    expect((await (await call(`/webhooks/${closed}/test`, 'POST')).json<{ result: object }>()).result).toMatchObject({
      status: null,
      latency_ms: null,
      error: expect.stringMatching(/^request failed/),
    });
    // A binding that is not set is refused at write time (worker/admin/index.test.ts); one that holds a malformed key is only found out when signing.
    const unset = await create({ name: 'unset', url: `${receiver.url}/hook/admin-unset`, secret: 'WEBHOOK_SHORT_SECRET' });
    expect((await (await call(`/webhooks/${unset}/test`, 'POST')).json<{ result: object }>()).result).toMatchObject({
      status: null,
      error: 'secret binding WEBHOOK_SHORT_SECRET decodes to 5 bytes (expected 24-64 random bytes, whsec_ + base64): not sent unsigned',
    });
    const status = await (await call(`/webhooks/${unset}/status`)).json<{ result: object }>();
    expect(status.result).toMatchObject({
      secret: { binding: 'WEBHOOK_SHORT_SECRET', usable: false, error: expect.stringContaining('decodes to 5 bytes') },
    });
    expect(await (await fetch(`${receiver.control}/deliveries?path=/hook/admin-unset`)).json()).toEqual([]);
  });

  it('status: the secret and, per load balancer it applies to, what waits for it', async () => {
    const pool = await (await call('/pools', 'POST', { name: 'wh-pool', origins: [{ name: 'a', address: '192.0.2.10' }] })).json<{ result: { id: string } }>();
    const lb = await (
      await call('/load_balancers', 'POST', { name: 'wh.example.test', default_pools: [pool.result.id], fallback_pool: pool.result.id })
    ).json<{ result: { id: string } }>();
    const id = await create({ name: 'scoped', url: `${receiver.url}/hook/admin-status`, secret: 'WEBHOOK_TEST_SECRET', load_balancers: [lb.result.id] });
    const res = await call(`/webhooks/${id}/status`);
    expect(res.status).toBe(200);
    expect((await res.json<{ result: object }>()).result).toEqual({
      webhook_id: id,
      enabled: true,
      secret: { binding: 'WEBHOOK_TEST_SECRET', usable: true, error: null },
      load_balancers: [{ load_balancer_id: lb.result.id, pending: 0, oldest_pending_at: null, attempts: 0, last_error: null, next_attempt_at: null }],
    });
  });

  it('refuses an unknown id (404), a read-only token (403), a bad id (400)', async () => {
    expect((await call('/webhooks/nope/test', 'POST')).status).toBe(404);
    expect((await call('/webhooks/nope/status')).status).toBe(404);
    expect((await call('/webhooks/bad%20id/test', 'POST')).status).toBe(400);
    const id = await create({ name: 'ro', url: `${receiver.url}/hook/admin-ro`, secret: 'WEBHOOK_TEST_SECRET' });
    expect((await call(`/webhooks/${id}/test`, 'POST', undefined, 'test-read-token')).status).toBe(403);
    expect((await call(`/webhooks/${id}/status`, 'GET', undefined, 'test-read-token')).status).toBe(200);
    expect(await (await fetch(`${receiver.control}/deliveries?path=/hook/admin-ro`)).json()).toEqual([]);
  });
});
