/**
 * Webhooks end to end: the real Worker under wrangler dev (alarms fire there), real origins and a
 * real receiver on 127.0.0.1 that verifies every signature with its own code. An origin dies and
 * comes back; the receiver gets one signed delivery per transition. Then the receiver is down
 * for a minute while it happens again (the back-off doubles from 1 s to its 60 s cap meanwhile)
 * and every event arrives once it is back, within the next attempt (at most 66 s with jitter).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyKey } from '../../core/notify/index.ts';
import { OriginServer, startOrigins } from '../../scripts/lib/origin-server.ts';
import { startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { WebhookReceiver, type Delivery } from '../fixtures/webhook-receiver.ts';
import { send } from '../http-client.ts';
import { tempState, teardown } from './stack.ts';

const TOKEN = 'e2e-webhooks-token-0123456789';
const SECRET = `whsec_${Buffer.from('e2e webhook secret, 32 bytes long').toString('base64')}`;
const OUTAGE_MS = 60_000;
let state: string;
let worker: WranglerDev;
let origins: OriginServer[];
let receiver: WebhookReceiver;

type Event = { id: number; at: string; pool_id: string; origin: string; from: string; to: string; reason: string };
const admin = async <T>(path: string, method = 'GET', body?: unknown): Promise<{ status: number; result: T }> => {
  const res = await send(`${worker.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, result: (JSON.parse(res.body) as { result: T }).result };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => Promise<boolean> | boolean, limitMs: number, what: string): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(200);
  }
  const events = await admin('/load_balancers/lb/events?limit=30').catch((e: unknown) => String(e));
  throw new Error(`${what}: not within ${limitMs} ms\nevents: ${JSON.stringify(events)}\ndeliveries: ${JSON.stringify(receiver.deliveries.map(brief))}`);
}
const brief = (d: Delivery) => {
  const b = d.body as { type: string; data: { origin: string | null; pool: { id: string }; healthy: boolean } };
  return `${b.type}:${b.data.origin ?? b.data.pool.id}:${b.data.healthy ? 'up' : 'down'}`;
};
/** The events of the log after `since` (epoch ms) that webhooks are told about, oldest first, with their keys. */
async function notifiable(since: number) {
  const { result } = await admin<Event[]>('/load_balancers/lb/events?limit=100');
  const mine = result.filter((e) => Date.parse(e.at) >= since && !(e.from === 'unknown' && e.to === 'healthy')).reverse();
  return Promise.all(
    mine.map(async (e) => ({
      key: await idempotencyKey('lb', { at: Date.parse(e.at), poolId: e.pool_id, origin: e.origin, from: e.from, to: e.to, reason: e.reason }),
      what: `${e.origin || e.pool_id}:${e.to}`,
    })),
  );
}
const taken = () => receiver.deliveries.filter((d) => d.status === 204);

beforeAll(async () => {
  state = tempState('webhooks');
  origins = await startOrigins(['a', 'b', 'fb']);
  receiver = await new WebhookReceiver(SECRET).start();
  worker = await startWranglerDev({ persistTo: state, vars: { ADMIN_TOKEN: TOKEN, WEBHOOK_SECRET: SECRET } });
  const origin = (o: OriginServer) => ({ name: o.name, address: '127.0.0.1', port: o.port });
  const put = await admin('/config', 'PUT', {
    monitors: [{ id: 'mon', path: '/health', interval: 5, timeout: 1, retries: 0 }],
    pools: [
      { id: 'primary', name: 'primary', monitor: 'mon', minimum_origins: 2, origins: [origin(origins[0]!), origin(origins[1]!)] },
      { id: 'fallback', name: 'fallback', monitor: 'mon', origins: [origin(origins[2]!)] },
    ],
    load_balancers: [{ id: 'lb', name: 'webhooks.e2e.test', default_pools: ['primary'], fallback_pool: 'fallback' }],
    webhooks: [{ id: 'ops', name: 'ops', url: `${receiver.url}/hook`, secret: 'WEBHOOK_SECRET' }],
  });
  expect(put.status).toBe(200);
  await until(
    async () => (await admin<{ server_state: string }[]>('/load_balancers/lb/backend-stats')).result.every((s) => s.server_state === 'running'),
    20_000,
    'all origins probed healthy',
  );
}, 90_000);

afterAll(async () => {
  await receiver?.stop();
  await teardown(worker, origins ?? [], state);
});

describe('webhooks', () => {
  it('an origin dies and comes back: one signed delivery per transition (origin, pool, fallback), nothing else', async () => {
    const since = Date.now();
    await origins[0]!.stop();
    await until(() => taken().length >= 3, 20_000, 'three deliveries for the death');
    await origins[0]!.start();
    await until(() => taken().length >= 6, 20_000, 'three more for the return');
    await sleep(1000);
    expect(receiver.deliveries.map(brief)).toEqual([
      'origin_health:a:down',
      'pool_health:primary:down',
      'fallback:fallback:down',
      'origin_health:a:up',
      'pool_health:primary:up',
      'fallback:fallback:up',
    ]);
    expect(receiver.deliveries.every((d) => d.verified && d.fresh && d.status === 204)).toBe(true);
    expect(receiver.deliveries.map((d) => d.id)).toEqual((await notifiable(since)).map((e) => e.key));
  }, 60_000);

  it('test-send answers the receiver status and latency; an unknown webhook is 404', async () => {
    const before = receiver.deliveries.length;
    const res = await admin<{ id: string; status: number; latency_ms: number; error: null }>('/webhooks/ops/test', 'POST');
    expect(res.status).toBe(200);
    expect(res.result).toMatchObject({ status: 204, error: null });
    expect(receiver.deliveries.slice(before).map((d) => [d.id, d.verified, d.fresh, (d.body as { type: string }).type])).toEqual([
      [res.result.id, true, true, 'test'],
    ]);
    expect((await admin('/webhooks/nope/test', 'POST')).status).toBe(404);
    receiver.deliveries.splice(before);
  });

  it('the receiver is down while an origin dies and comes back: events wait, then every one arrives; retries carry the same key', async () => {
    receiver.deliveries.length = 0;
    const since = Date.now();
    await receiver.stop();
    await origins[0]!.stop();
    await until(async () => (await notifiable(since)).length >= 3, 20_000, 'the death logged');
    type Status = { load_balancers: { pending: number; attempts: number; last_error: string | null }[] };
    await until(async () => (await admin<Status>('/webhooks/ops/status')).result.load_balancers[0]!.attempts >= 2, 20_000, 'failed attempts in the status');
    const during = (await admin<Status>('/webhooks/ops/status')).result.load_balancers[0]!;
    expect(during.pending).toBeGreaterThanOrEqual(3);
    expect(during.last_error).toMatch(/^request failed/);
    await origins[0]!.start();
    await until(async () => (await notifiable(since)).length >= 6, 20_000, 'the return logged');
    await sleep(Math.max(0, since + OUTAGE_MS - Date.now()));
    expect(receiver.deliveries).toEqual([]); // nothing got through while it was down
    await receiver.start();
    const expected = await notifiable(since);
    await until(() => expected.every((e) => taken().some((d) => d.id === e.key)), 90_000, 'every event delivered after the outage');
    expect(expected.map((e) => e.what)).toEqual([
      'a:unhealthy',
      'primary:unhealthy',
      'fallback:fallback_pool',
      'a:healthy',
      'primary:healthy',
      'fallback:default_pools',
    ]);
    // None lost, none extra, in order; a duplicate (if any) carries its event's key and body.
    const keys = taken().map((d) => d.id);
    expect([...new Set(keys)]).toEqual(expected.map((e) => e.key));
    for (const d of taken()) expect(d.body).toEqual(taken().find((x) => x.id === d.id)!.body);
    expect(receiver.deliveries.every((d) => d.verified && d.fresh)).toBe(true);
    await until(async () => (await admin<Status>('/webhooks/ops/status')).result.load_balancers[0]!.pending === 0, 5000, 'outbox empty');
  }, 180_000);
});
