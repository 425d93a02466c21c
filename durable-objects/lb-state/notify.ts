/**
 * Health notifications of one LbState: one outbox subscriber per webhook that applies to its load
 * balancer (`Targets.webhooks`, named `webhook:<id>`), the derived pool and fallback transitions
 * (core/notify deriveTransitions, last look kept in `meta` under `derived_health`), test sends and
 * a webhook's delivery status. Never on the request path: deliveries run from the alarm's
 * `deliver` job (outbox.ts: at least once, in order, back-off 1 s doubling to 60 s, 7 days).
 *
 * - Which events: `wants()` at the transition, inside its transaction: the webhook's `events`
 *   kinds ([] = all) and the pool's Cloudflare `notification_filter` (core/notify filter.ts).
 * - One POST per event, in order, each with a 5 s timeout (WEBHOOK_TIMEOUT_MS), redirects not
 *   followed. Headers: `webhook-id` and `Idempotency-Key` (the event's key, also in the body),
 *   `webhook-timestamp`, `webhook-signature` (core/notify/sign.ts, Standard Webhooks) when the
 *   webhook names a secret.
 * - Any answer but 2xx is retried, 4xx included: a receiver answering 400/401/404 is almost always
 *   misdeployed (a wrong path, a rotated secret) and gets fixed, and the events it missed are the
 *   ones an operator needs. The cost is capped: one attempt a minute, for at most 7 days.
 * - A webhook naming a secret whose binding is unset or malformed is never sent unsigned: the
 *   delivery fails with that error (logged, shown by GET /webhooks/{id}/status), and retries.
 * - A batch that would outlast the outbox deadline is cut short; events a receiver already
 *   took are remembered (in memory, one batch per webhook) and not sent again when the batch is
 *   retried. After an eviction they may be: receivers de-duplicate by key.
 * - Error messages never quote the URL (a Slack webhook URL is a secret) nor a secret.
 */
import type { Webhook } from '../../core/config/index.ts';
import type { HealthEvent } from '../../core/health/index.ts';
import type { UsableAt } from '../../core/health/verdict.ts';
import {
  classify,
  decodeSecret,
  deriveTransitions,
  idempotencyKey,
  jsonPayload,
  notifies,
  sign,
  slackPayload,
  type Classified,
  type DerivedState,
  type Notification,
} from '../../core/notify/index.ts';
import type { SubscriberStatus, Targets, WebhookTestResult } from '../../core/rpc/index.ts';
import type { Subscriber } from './outbox.ts';
import type { Sql } from './sql.ts';

/** How long one delivery may take to answer with headers (ms). */
export const WEBHOOK_TIMEOUT_MS = 5000;
/** The outbox subscriber of webhook `id`. */
export const webhookSubscriber = (id: string) => `webhook:${id}`;

/** What the notifier needs of its LbState: its clock (epoch ms) and the outbox deadline (ms). */
export interface NotifierDeps {
  now(): number;
  deadlineMs(): number;
}

/** Whether `webhook` takes `event` (kind filter, then the pool's notification_filter); undefined when it does not. */
function wanted(webhook: Webhook, targets: Targets, event: HealthEvent): Classified | undefined {
  const c = classify(event);
  if (!c || (webhook.events.length && !webhook.events.includes(c.kind))) return undefined;
  if (!c.resource) return c;
  const pool = targets.pools.find((p) => p.pool.id === event.poolId)?.pool;
  return notifies(pool?.notification_filter, c.resource, c.healthy) ? c : undefined;
}

/** Sends `n` to `webhook` once: its status and latency (ms), or throws an Error saying why nothing answered. */
async function post(env: Env, webhook: Webhook, n: Notification, nowMs: number): Promise<{ status: number; latencyMs: number }> {
  const body = webhook.format === 'slack' ? slackPayload(n) : jsonPayload(n);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'edge-lb-webhooks/1',
    'idempotency-key': n.id,
    'webhook-id': n.id,
  };
  if (webhook.secret) {
    const value = (env as unknown as Record<string, unknown>)[webhook.secret];
    if (typeof value !== 'string' || !value) throw new Error(`secret binding ${webhook.secret} is not set: not sent unsigned`);
    let key: Uint8Array<ArrayBuffer>;
    try {
      key = decodeSecret(value);
    } catch (e) {
      throw new Error(`secret binding ${webhook.secret} ${(e as Error).message}: not sent unsigned`, { cause: e });
    }
    Object.assign(headers, await sign(key, n.id, nowMs / 1000, body));
  }
  const started = Date.now();
  try {
    const res = await fetch(webhook.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS) });
    const latencyMs = Date.now() - started;
    await res.body?.cancel();
    return { status: res.status, latencyMs };
  } catch (e) {
    const name = (e as Error)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new Error(`no answer within ${WEBHOOK_TIMEOUT_MS} ms`, { cause: e });
    throw new Error(`request failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

/** Notifications of one LbState (see the module comment). */
export class Notifier {
  readonly #sql: Sql;
  readonly #env: Env;
  readonly #deps: NotifierDeps;
  #derived: DerivedState | undefined;
  #loaded = false;
  /** Keys a receiver took from a batch that is not settled yet, by subscriber (at most one batch each). */
  readonly #taken = new Map<string, Set<string>>();

  constructor(sql: Sql, env: Env, deps: NotifierDeps) {
    this.#sql = sql;
    this.#env = env;
    this.#deps = deps;
  }

  /** One outbox subscriber per webhook of `targets`. */
  subscribers(targets: Targets): Subscriber[] {
    return (targets.webhooks ?? []).map((w) => ({
      name: webhookSubscriber(w.id),
      wants: (event: HealthEvent) => wanted(w, targets, event) !== undefined,
      deliver: (events: HealthEvent[]) => this.#deliver(w, targets, events),
    }));
  }

  /**
   * The pool and fallback transitions since the last look, stored as the new last look (call
   * inside the transaction that emits them). `usable` judges an origin now; `at` epoch ms.
   */
  derive(targets: Targets, usable: UsableAt, at: number): HealthEvent[] {
    if (!this.#loaded) {
      const row = this.#sql.first<{ value: string }>("SELECT value FROM meta WHERE key = 'derived_health'");
      this.#derived = row ? (JSON.parse(row.value) as DerivedState) : undefined;
      this.#loaded = true;
    }
    const { state, events } = deriveTransitions(
      targets.lb,
      targets.pools.map((p) => p.pool),
      usable,
      this.#derived,
      at,
    );
    const json = JSON.stringify(state);
    if (json !== JSON.stringify(this.#derived)) {
      this.#sql.run("INSERT INTO meta (key, value) VALUES ('derived_health', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", json);
      this.#derived = state;
    }
    return events;
  }

  /** Sends a test notification to `webhook` now (signed like the real ones); never throws. */
  async test(webhook: Webhook): Promise<WebhookTestResult> {
    const now = this.#deps.now();
    const id = `test:${crypto.randomUUID()}`;
    const event = { at: now, poolId: '', origin: '', from: '', to: '', reason: 'A test notification sent from the admin API (POST /webhooks/{id}/test).' };
    try {
      const r = await post(this.#env, webhook, { id, type: 'test', healthy: true, event, lb: null, pool: null }, now);
      return { id, status: r.status, latencyMs: r.latencyMs, error: null };
    } catch (e) {
      return { id, status: null, latencyMs: null, error: (e as Error).message };
    }
  }

  /** Outbox rows waiting for subscriber `name`, and the oldest one's attempts, last error and next try. */
  status(name: string): SubscriberStatus {
    const all = this.#sql.first<{ n: number; oldest: number | null }>('SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE subscriber = ?', name);
    const head = this.#sql.first<{ attempts: number; last_error: string; due_at: number }>(
      'SELECT attempts, last_error, due_at FROM outbox WHERE subscriber = ? ORDER BY id LIMIT 1',
      name,
    );
    return {
      pending: all?.n ?? 0,
      oldestAt: all?.oldest ?? null,
      attempts: head?.attempts ?? 0,
      lastError: head?.last_error || null,
      nextAttemptAt: head?.due_at ?? null,
    };
  }

  /** One batch, in order: throws at the first event not taken (the outbox retries the batch; events taken are not sent again). */
  async #deliver(webhook: Webhook, targets: Targets, events: HealthEvent[]): Promise<void> {
    const name = webhookSubscriber(webhook.id);
    const taken = this.#taken.get(name) ?? new Set<string>();
    if (taken.size > 1000) taken.clear(); // never more than a batch; a cap all the same
    this.#taken.set(name, taken);
    // Leave room for the last request and for settling within the outbox's deadline.
    const budget = this.#deps.deadlineMs() - WEBHOOK_TIMEOUT_MS - 1000;
    const started = Date.now();
    let sent = 0;
    for (const event of events) {
      const c = classify(event);
      if (!c) continue;
      const id = await idempotencyKey(targets.lbId, event);
      if (taken.has(id)) continue;
      if (sent > 0 && Date.now() - started > budget) throw new Error(`${sent} sent, the rest of the batch next time (deadline)`);
      const pool = targets.pools.find((p) => p.pool.id === event.poolId)?.pool;
      const n: Notification = {
        id,
        type: c.kind,
        healthy: c.healthy,
        event,
        lb: { id: targets.lbId, name: targets.lb?.name ?? null },
        pool: event.poolId ? { id: event.poolId, name: pool?.name ?? null } : null,
      };
      const { status } = await post(this.#env, webhook, n, this.#deps.now());
      if (status < 200 || status > 299) throw new Error(`the receiver answered HTTP ${status}`);
      taken.add(id);
      sent++;
    }
    this.#taken.delete(name);
  }
}
