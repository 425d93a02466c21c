/**
 * Webhook delivery through LbState's outbox, in workerd, with the fake clock: real probes against
 * real servers, real POSTs to the real receiver of test/fixtures/webhook-receiver.ts (which checks
 * signatures with its own code), the alarm run by hand.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import {
  LoadBalancerSchema,
  MonitorSchema,
  PoolSchema,
  WebhookSchema,
  type LoadBalancer,
  type Monitor,
  type Pool,
  type Webhook,
} from '../../core/config/index.ts';
import type { Targets } from '../../core/rpc/index.ts';
import { T0, fakeClock, hook, query, stubOf } from '../../test/fixtures/lb-state.ts';
import type { Delivery, ReceiverMode } from '../../test/fixtures/webhook-receiver.ts';

const ports = inject('probePorts');
const receiver = inject('webhookReceiver');
const stored = { created_on: '', modified_on: '' };
const monitor = { ...MonitorSchema.parse({ path: '/ok', interval: 5, timeout: 1, retries: 0 }), id: 'm1', ...stored } as Monitor;
/** Pool p1: `a` passes its probes, `b` is on `bPort` (closed: fails); both must be usable (minimum_origins 2). */
const primary = (bPort: number, filter?: unknown) =>
  ({
    ...PoolSchema.parse({
      name: 'primary',
      monitor: 'm1',
      minimum_origins: 2,
      notification_filter: filter,
      origins: [
        { name: 'a', address: '127.0.0.1', port: ports.http },
        { name: 'b', address: '127.0.0.1', port: bPort },
      ],
    }),
    id: 'p1',
    ...stored,
  }) as Pool;
const fallback = {
  ...PoolSchema.parse({ name: 'fallback', monitor: 'm1', origins: [{ name: 'fb', address: '127.0.0.1', port: ports.http }] }),
  id: 'fb',
  ...stored,
} as Pool;
const webhook = (id: string, w: object) =>
  ({ ...WebhookSchema.parse({ name: id, url: `${receiver.url}/hook/${id}`, secret: 'WEBHOOK_TEST_SECRET', ...w }), id, ...stored }) as Webhook;
const targets = (lbId: string, bPort: number, webhooks: Webhook[], filter?: unknown): Targets => ({
  lbId,
  pools: [
    { pool: primary(bPort, filter), monitor },
    { pool: fallback, monitor },
  ],
  lb: { ...LoadBalancerSchema.parse({ name: `${lbId}.example.test`, default_pools: ['p1'], fallback_pool: 'fb' }), id: lbId, ...stored } as LoadBalancer,
  webhooks,
});

const deliveries = async (id: string): Promise<Delivery[]> => (await fetch(`${receiver.control}/deliveries?path=/hook/${id}`)).json();
const mode = (id: string, m: ReceiverMode) => fetch(`${receiver.control}/mode?path=/hook/${id}`, { method: 'PUT', body: JSON.stringify(m) });
const outbox = (name: string) =>
  query<{ subscriber: string; attempts: number; last_error: string }>(name, 'SELECT subscriber, attempts, last_error FROM outbox ORDER BY id');
type Body = {
  id: string;
  type: string;
  data: { pool: { id: string } | null; origin: string | null; healthy: boolean; load_balancer: { id: string; name: string } };
};
const summary = (d: Delivery) => {
  const b = d.body as Body;
  return `${b.type}:${b.data.origin ?? b.data.pool?.id}:${b.data.healthy ? 'up' : 'down'}`;
};

/** Runs the alarm at `t` and waits for the deliveries it started. */
async function alarmAt(name: string, clock: { t: number }, t: number) {
  clock.t = t;
  await runDurableObjectAlarm(stubOf(name));
  await hook(name);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('webhook notifications from the outbox', () => {
  it('delivers one signed POST per transition (origin, pool, fallback), in order, each key once; Slack gets its kinds as {text, blocks}', async () => {
    const name = 'lb-notify';
    const clock = fakeClock();
    await hook(name, { clock });
    const lb = stubOf(name);
    const hooks = [
      webhook('notify-json', { secret: 'WEBHOOK_TEST_SECRET' }),
      webhook('notify-slack', { format: 'slack', events: ['pool_health'], secret: undefined }),
    ];
    await lb.sync(targets(name, ports.closed, hooks));
    await alarmAt(name, clock, T0); // probes: b fails, p1 falls below minimum_origins, the fallback takes over
    await alarmAt(name, clock, T0 + 1); // deliveries
    await lb.sync(targets(name, ports.http, hooks)); // b comes back (same origin, now on a live port)
    await alarmAt(name, clock, T0 + 5000);
    await alarmAt(name, clock, T0 + 5001);

    const got = await deliveries('notify-json');
    expect(got.map(summary)).toEqual([
      'origin_health:b:down',
      'pool_health:p1:down',
      'fallback:fb:down',
      'origin_health:b:up',
      'pool_health:p1:up',
      'fallback:fb:up',
    ]);
    expect(got.every((d) => d.verified && d.status === 204)).toBe(true);
    expect(new Set(got.map((d) => d.id)).size).toBe(6);
    expect(got.map((d) => d.timestamp)).toEqual([...Array(3).fill(T0 / 1000), ...Array(3).fill(T0 / 1000 + 5)]); // signed when sent (the fake clock)
    expect(got[0]!.body).toMatchObject({
      id: got[0]!.id,
      type: 'origin_health',
      timestamp: new Date(T0).toISOString(),
      data: { load_balancer: { id: name, name: `${name}.example.test` }, pool: { id: 'p1', name: 'primary' }, origin: 'b', from: 'unknown', to: 'unhealthy' },
    });
    expect(got[0]!.id).toMatch(new RegExp(`^${name}:[0-9a-f]{24}$`));

    const slack = await deliveries('notify-slack');
    expect(slack.map((d) => [d.signed, (d.body as { text: string }).text])).toEqual([
      [false, `:red_circle: Pool primary is unhealthy (${name}.example.test)`],
      [false, `:large_green_circle: Pool primary is healthy again (${name}.example.test)`],
    ]);
    expect(slack[0]!.body).toMatchObject({ blocks: [{ type: 'section' }, { type: 'context' }] });
    expect(await outbox(name)).toEqual([]);
    // Pool and fallback transitions are in the event log too; origin "" marks the pool's own.
    expect((await lb.events(20)).events.filter((e) => e.origin === '').map((e) => `${e.poolId}:${e.to}`)).toEqual([
      'fb:default_pools',
      'p1:healthy',
      'fb:fallback_pool',
      'p1:unhealthy',
    ]);
  });

  it('keeps events while the receiver is down (dropped, then 503), retries with back-off, and delivers every one after; retries carry the same key', async () => {
    const name = 'lb-outage';
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const clock = fakeClock();
    await hook(name, { clock });
    const lb = stubOf(name);
    const hooks = [webhook('outage', { secret: 'WEBHOOK_TEST_SECRET' })];
    await mode('outage', { drop: true });
    await lb.sync(targets(name, ports.closed, hooks));
    await alarmAt(name, clock, T0);
    await alarmAt(name, clock, T0 + 1);
    expect((await outbox(name)).map((r) => [r.attempts, r.last_error.slice(0, 15)])).toEqual(Array(3).fill([1, 'request failed:']));
    const down = await lb.subscriberStatus('webhook:outage');
    expect(down).toMatchObject({ pending: 3, attempts: 1, nextAttemptAt: T0 + 1 + 1000 });

    await mode('outage', { status: 503 });
    await alarmAt(name, clock, T0 + 1001); // second attempt: answered, but 503
    expect((await lb.subscriberStatus('webhook:outage')).lastError).toBe('the receiver answered HTTP 503');
    await lb.sync(targets(name, ports.http, hooks)); // b back while the receiver is down: 3 more events queue
    await alarmAt(name, clock, T0 + 5000);
    expect((await outbox(name)).length).toBe(6);

    await mode('outage', {});
    await alarmAt(name, clock, (await lb.subscriberStatus('webhook:outage')).nextAttemptAt!); // the next attempt, after its back-off
    const got = await deliveries('outage');
    const ok = got.filter((d) => d.status === 204);
    expect(ok.map(summary)).toEqual([
      'origin_health:b:down',
      'pool_health:p1:down',
      'fallback:fb:down',
      'origin_health:b:up',
      'pool_health:p1:up',
      'fallback:fb:up',
    ]);
    expect(new Set(ok.map((d) => d.id)).size).toBe(6);
    // Every failed attempt was of the first event, under its key: dropped once, then 503.
    const failed = got.filter((d) => d.status !== 204);
    expect(failed.map((d) => d.status).slice(0, 2)).toEqual([0, 503]);
    expect(new Set(failed.map((d) => d.id))).toEqual(new Set([ok[0]!.id]));
    expect(got.every((d) => d.verified)).toBe(true);
    expect(await lb.subscriberStatus('webhook:outage')).toEqual({ pending: 0, oldestAt: null, attempts: 0, lastError: null, nextAttemptAt: null });
  });

  it('does not send again what a receiver took when a batch fails halfway', async () => {
    const name = 'lb-halfway';
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const clock = fakeClock();
    await hook(name, { clock });
    const lb = stubOf(name);
    await mode('halfway', { status: 500, okFirst: 1 });
    await lb.sync(targets(name, ports.closed, [webhook('halfway', {})]));
    await alarmAt(name, clock, T0);
    await alarmAt(name, clock, T0 + 1); // the first event is taken, the second answered 500
    await mode('halfway', {});
    await alarmAt(name, clock, T0 + 1001);
    const got = await deliveries('halfway');
    expect(got.map((d) => [summary(d), d.status])).toEqual([
      ['origin_health:b:down', 204],
      ['pool_health:p1:down', 500],
      ['pool_health:p1:down', 204],
      ['fallback:fb:down', 204],
    ]);
  });

  it('never sends unsigned when the secret binding is missing or malformed: the error is in the outbox and the status', async () => {
    const name = 'lb-nosecret';
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const clock = fakeClock();
    await hook(name, { clock });
    const lb = stubOf(name);
    await lb.sync(targets(name, ports.closed, [webhook('nosecret', { secret: 'NOT_SET_SECRET' }), webhook('shortsecret', { secret: 'WEBHOOK_SHORT_SECRET' })]));
    await alarmAt(name, clock, T0);
    await alarmAt(name, clock, T0 + 1);
    expect(await deliveries('nosecret')).toEqual([]);
    expect(await deliveries('shortsecret')).toEqual([]);
    expect((await lb.subscriberStatus('webhook:nosecret')).lastError).toBe('secret binding NOT_SET_SECRET is not set: not sent unsigned');
    expect((await lb.subscriberStatus('webhook:shortsecret')).lastError).toBe(
      'secret binding WEBHOOK_SHORT_SECRET decodes to 5 bytes (expected 24-64 random bytes, whsec_ + base64): not sent unsigned',
    );
    expect(errors.mock.calls.some(([m]) => String(m).includes('to webhook:nosecret failed'))).toBe(true);
    expect(JSON.stringify(errors.mock.calls)).not.toContain('MfKQ9r8G'); // no secret in the logs
  });

  it("honours the pool's notification_filter and the webhook's kinds", async () => {
    const name = 'lb-filter';
    const clock = fakeClock();
    await hook(name, { clock });
    const lb = stubOf(name);
    const hooks = [webhook('filtered', {}), webhook('kinds', { events: ['fallback', 'ejection'] })];
    // Origins: only recoveries; the pool: nothing. The fallback is the load balancer's, not filtered.
    const filter = { origin: { healthy: true, disable: null }, pool: { disable: true } };
    await lb.sync(targets(name, ports.closed, hooks, filter));
    await alarmAt(name, clock, T0);
    expect((await outbox(name)).map((r) => r.subscriber)).toEqual(['webhook:filtered', 'webhook:kinds']); // filtered when written
    await alarmAt(name, clock, T0 + 1);
    await lb.sync(targets(name, ports.http, hooks, filter));
    await alarmAt(name, clock, T0 + 5000);
    await alarmAt(name, clock, T0 + 5001);
    expect((await deliveries('filtered')).map(summary)).toEqual(['fallback:fb:down', 'origin_health:b:up', 'fallback:fb:up']);
    expect((await deliveries('kinds')).map(summary)).toEqual(['fallback:fb:down', 'fallback:fb:up']);
  });

  it('sends a signed test notification now and answers the status, or the error', async () => {
    const lb = stubOf('webhook-test:t1');
    const sent = await lb.testWebhook(webhook('tested', { secret: 'WEBHOOK_TEST_SECRET' }));
    expect(sent).toMatchObject({ status: 204, error: null, id: expect.stringMatching(/^test:/) });
    expect(sent.latencyMs).toBeGreaterThanOrEqual(0);
    const [d] = await deliveries('tested');
    expect(d).toMatchObject({ id: sent.id, verified: true, fresh: true, body: { type: 'test', data: { load_balancer: null } } });
    const refused = await lb.testWebhook({ ...webhook('closed', {}), url: `http://127.0.0.1:${ports.closed}/` });
    expect(refused).toMatchObject({ status: null, latencyMs: null, error: expect.stringMatching(/^request failed/) });
  });
});
