import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LoadBalancerSchema, PoolSchema, type LoadBalancer, type Pool } from '../config/index.ts';
import type { HealthEvent } from '../health/index.ts';
import { classify, deriveTransitions, type DerivedState } from './events.ts';
import { notifies } from './filter.ts';
import { idempotencyKey, jsonPayload, slackPayload, type Notification } from './message.ts';
import { REPLAY_TOLERANCE_S, decodeSecret, sign, verify } from './sign.ts';

describe('Standard Webhooks signatures', () => {
  // The specification's JavaScript library's own test vector (libraries/javascript/src/webhook.test.ts, "sign function works").
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const t = 1614265330;
  const body = '{"test": 2432232314}';

  it('signs the known vector', async () => {
    expect(await sign(decodeSecret(secret), id, t, body)).toEqual({
      'webhook-id': id,
      'webhook-timestamp': String(t),
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
    // and Node's own HMAC agrees, over the raw key bytes
    const node = createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
      .update(`${id}.${t}.${body}`)
      .digest('base64');
    expect((await sign(decodeSecret(secret.slice(6)), id, t, body))['webhook-signature']).toBe(`v1,${node}`);
  });

  it('verifies a round trip within the replay window, and refuses a changed body, id, key or an old or future timestamp', async () => {
    const key = decodeSecret(secret);
    const headers = await sign(key, id, t, body);
    expect(await verify(key, headers, body, t + REPLAY_TOLERANCE_S)).toBe(true);
    expect(await verify(key, { ...headers, 'webhook-signature': `v1,bogus ${headers['webhook-signature']}` }, body, t)).toBe(true);
    expect(await verify(key, headers, body.replace('4', '5'), t)).toBe(false);
    expect(await verify(key, { ...headers, 'webhook-id': 'msg_other' }, body, t)).toBe(false);
    expect(await verify(decodeSecret(`whsec_${btoa('another key of 24 bytes!')}`), headers, body, t)).toBe(false);
    expect(await verify(key, headers, body, t + REPLAY_TOLERANCE_S + 1)).toBe(false);
    expect(await verify(key, headers, body, t - REPLAY_TOLERANCE_S - 1)).toBe(false);
    expect(await verify(key, { ...headers, 'webhook-signature': headers['webhook-signature'].replace('v1,', 'v2,') }, body, t)).toBe(false);
  });

  it('refuses secrets that are not base64 of 24-64 bytes, without quoting them', () => {
    expect(() => decodeSecret('whsec_c2hvcnQ=')).toThrow('decodes to 5 bytes');
    expect(() => decodeSecret('not base64 at all!')).toThrow(/^is not base64/);
    expect(() => decodeSecret(`whsec_${btoa('x'.repeat(65))}`)).toThrow('decodes to 65 bytes');
    expect(decodeSecret(`whsec_${btoa('x'.repeat(64))}`)).toHaveLength(64);
  });
});

describe("Cloudflare's notification_filter", () => {
  const cases: [unknown, boolean, boolean][] = [
    // filter on the resource, notify when becoming healthy?, when becoming unhealthy?
    [undefined, true, true],
    [null, true, true],
    [{ disable: true }, false, false],
    [{ disable: true, healthy: true }, false, false],
    [{ disable: false, healthy: null }, true, true],
    [{ healthy: true }, true, false],
    [{ healthy: false }, false, true],
  ];
  it.each(cases)('origin filter %j: up %s, down %s; the pool part is separate', (options, up, down) => {
    const filter = PoolSchema.shape.notification_filter.parse({ origin: options, pool: { disable: true } });
    expect([notifies(filter, 'origin', true), notifies(filter, 'origin', false)]).toEqual([up, down]);
    expect([notifies(filter, 'pool', true), notifies(filter, 'pool', false)]).toEqual([false, false]);
  });

  it('accepts what Cloudflare exports, nulls included, and refuses anything else naming the field', () => {
    const pool = { name: 'p', origins: [{ name: 'a', address: '192.0.2.1' }] };
    for (const notification_filter of [null, {}, { origin: null, pool: null }, { origin: { disable: null, healthy: null }, pool: { healthy: false } }]) {
      expect(PoolSchema.safeParse({ ...pool, notification_filter }).success, JSON.stringify(notification_filter)).toBe(true);
    }
    const bad = PoolSchema.safeParse({ ...pool, notification_filter: { origin: { healthy: 'yes' }, pools: {} } });
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['notification_filter', 'notification_filter.origin.healthy']);
  });
});

describe('which events notify', () => {
  const e = (origin: string, from: string, to: string) => classify({ origin, from, to });
  it('classifies by kind and direction; a first verdict of healthy is no news', () => {
    expect(e('a', 'healthy', 'unhealthy')).toEqual({ kind: 'origin_health', healthy: false, resource: 'origin' });
    expect(e('a', 'unknown', 'unhealthy')).toEqual({ kind: 'origin_health', healthy: false, resource: 'origin' });
    expect(e('a', 'unhealthy', 'healthy')).toEqual({ kind: 'origin_health', healthy: true, resource: 'origin' });
    expect(e('a', 'unknown', 'healthy')).toBeUndefined();
    expect(e('a', 'in rotation', 'ejected')).toEqual({ kind: 'ejection', healthy: false, resource: 'origin' });
    expect(e('a', 'ejected', 'in rotation')).toEqual({ kind: 'ejection', healthy: true, resource: 'origin' });
    expect(e('', 'healthy', 'unhealthy')).toEqual({ kind: 'pool_health', healthy: false, resource: 'pool' });
    expect(e('', 'default_pools', 'fallback_pool')).toEqual({ kind: 'fallback', healthy: false, resource: undefined });
    expect(e('', 'fallback_pool', 'default_pools')).toEqual({ kind: 'fallback', healthy: true, resource: undefined });
  });
});

describe('pool and fallback transitions', () => {
  const stored = { created_on: '', modified_on: '' };
  const pool = (id: string, n: number, extra: object = {}) =>
    ({
      ...PoolSchema.parse({ name: id, origins: Array.from({ length: n }, (_, i) => ({ name: `o${i}`, address: '192.0.2.1' })), ...extra }),
      id,
      ...stored,
    }) as Pool;
  const lb = { ...LoadBalancerSchema.parse({ name: 'x.example.test', default_pools: ['p1', 'p2'], fallback_pool: 'fb' }), id: 'lb', ...stored } as LoadBalancer;
  const pools = [pool('p1', 3, { minimum_origins: 2 }), pool('p2', 1), pool('fb', 1)];
  /** Usable origins by pool: the names that are down. */
  const look = (down: string[], prev: DerivedState | undefined, ps = pools) => deriveTransitions(lb, ps, (p, i) => !down.includes(`${p.id}/o${i}`), prev, 1000);
  const said = (events: HealthEvent[]) => events.map((e) => `${e.poolId}${e.origin}:${e.from}->${e.to}`);

  it('starts from a baseline, then says what crossed minimum_origins and when the fallback takes over and gives back', () => {
    const first = look(['p1/o0', 'p1/o1'], undefined);
    expect(first).toEqual({ state: { pools: { p1: false, p2: true, fb: true }, fallback: false }, events: [] });
    const oneDown = look(['p1/o0'], first.state);
    expect(said(oneDown.events)).toEqual(['p1:unhealthy->healthy']);
    expect(oneDown.events[0]!.reason).toBe('pool healthy: 2 of 3 origins usable, minimum_origins 2');
    expect(look(['p1/o0'], oneDown.state).events).toEqual([]); // no change, no event
    const allDown = look(['p1/o0', 'p1/o1', 'p2/o0'], oneDown.state);
    expect(said(allDown.events)).toEqual(['p1:healthy->unhealthy', 'p2:healthy->unhealthy', 'fb:default_pools->fallback_pool']);
    expect(allDown.events[2]!.reason).toBe('fallback pool in use: none of the default pools (p1, p2) is healthy');
    expect(said(look(['p1/o0', 'p1/o1'], allDown.state).events)).toEqual(['p2:unhealthy->healthy', 'fb:fallback_pool->default_pools']);
  });

  it('counts a disabled pool as unhealthy (config moves pools too); a new pool or load balancer is a baseline', () => {
    const base = look([], undefined).state;
    const disabled = look([], base, [{ ...pools[0]!, enabled: false }, ...pools.slice(1)]);
    expect(said(disabled.events)).toEqual(['p1:healthy->unhealthy']);
    expect(disabled.events[0]!.reason).toBe('pool unhealthy: the pool is disabled');
    expect(look(['p2/o0'], { pools: {} }).events).toEqual([]); // pools not seen before
    expect(deriveTransitions(undefined, pools, () => false, base, 1).state.fallback).toBeUndefined(); // no load balancer: nothing about the fallback
    expect(said(look(['p1/o0', 'p1/o1', 'p2/o0'], { pools: { p1: true, p2: true } }).events)).toEqual(['p1:healthy->unhealthy', 'p2:healthy->unhealthy']);
  });
});

describe('messages', () => {
  const event: HealthEvent = { at: Date.UTC(2030, 0, 1), poolId: 'p1', origin: 'eu-1', from: 'healthy', to: 'unhealthy', reason: 'HTTP 503 <b>&</b>' };
  const n = (extra: Partial<Notification> = {}): Notification => ({
    id: 'lb:0123',
    type: 'origin_health',
    healthy: false,
    event,
    lb: { id: 'lb', name: 'app.example.com' },
    pool: { id: 'p1', name: 'primary' },
    ...extra,
  });

  it('keys an event by its content: stable, and different for another event', async () => {
    const key = await idempotencyKey('lb', event);
    expect(key).toMatch(/^lb:[0-9a-f]{24}$/);
    expect(await idempotencyKey('lb', { ...event })).toBe(key);
    expect(await idempotencyKey('lb', { ...event, at: event.at + 1 })).not.toBe(key);
    expect(await idempotencyKey('lb2', event)).not.toBe(key);
  });

  it('JSON: {id, type, timestamp, data}', () => {
    expect(JSON.parse(jsonPayload(n()))).toEqual({
      id: 'lb:0123',
      type: 'origin_health',
      timestamp: '2030-01-01T00:00:00.000Z',
      data: {
        load_balancer: { id: 'lb', name: 'app.example.com' },
        pool: { id: 'p1', name: 'primary' },
        origin: 'eu-1',
        healthy: false,
        from: 'healthy',
        to: 'unhealthy',
        reason: 'HTTP 503 <b>&</b>',
      },
    });
  });

  it("Slack: {text, blocks} with a section and a context block, escaped as Slack's mrkdwn wants", () => {
    const slack = JSON.parse(slackPayload(n()));
    expect(slack).toEqual({
      text: ':red_circle: Origin eu-1 of pool primary is unhealthy (app.example.com)',
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: ':red_circle: Origin eu-1 of pool primary is unhealthy (app.example.com)\nHTTP 503 &lt;b&gt;&amp;&lt;/b&gt;' },
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'healthy → unhealthy · 2030-01-01T00:00:00.000Z · lb:0123' }] },
      ],
    });
    const fallback = { ...event, poolId: 'fb', origin: '', from: 'default_pools', to: 'fallback_pool' };
    expect(JSON.parse(slackPayload(n({ type: 'fallback', event: fallback, pool: { id: 'fb', name: 'backup' } }))).text).toBe(
      ':red_circle: app.example.com is serving from its fallback pool backup',
    );
    expect(JSON.parse(slackPayload(n({ type: 'pool_health', healthy: true }))).text).toBe(
      ':large_green_circle: Pool primary is healthy again (app.example.com)',
    );
  });
});
