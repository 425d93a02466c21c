/**
 * The outbox: health transitions on their way to subscribers (DNS failover, webhooks, metrics).
 * LbState#emit writes one row per (event, subscriber) in the transaction that writes the
 * transition itself, so an event is never lost and never sent for a transition that did not
 * commit. The alarm's `deliver` job (key: the subscriber's name) hands each subscriber its rows
 * oldest first, up to DELIVERY_BATCH at a time, with a deadline; a batch that fails or misses the
 * deadline is retried after schedule.ts's back-off (1 s doubling, at most 60 s; `attempts` on the
 * row). At least once and in order per subscriber, across evictions. While a batch is out its
 * rows are leased (due_at pushed past the deadline), so it is never out twice at once, and a
 * batch whose instance was evicted mid-delivery goes out again when the lease runs out. The
 * `prune` job drops rows older than the event log's retention (7 days).
 */
import type { HealthEvent } from '../../core/health/index.ts';
import type { Targets } from '../../core/rpc/index.ts';
import type { Notifier } from './notify.ts';
import { backoffMs } from './schedule.ts';
import type { Sql } from './sql.ts';

/**
 * Takes health events, oldest first. Resolving means they are taken; throwing, or not settling
 * within the deadline, means "again later" (the same events come again: be idempotent).
 */
export interface Subscriber {
  name: string;
  /** Whether it takes `event` at all (asked inside the transition's transaction); absent: every event. */
  wants?(event: HealthEvent): boolean;
  deliver(events: HealthEvent[]): Promise<void>;
}

/**
 * The one place subscribers are registered, again on every change of targets: one per webhook
 * that applies to the load balancer (notify.ts). The event log (health_events) is not a subscriber.
 */
export function subscribersFor(targets: Targets, notifier: Notifier): Subscriber[] {
  return notifier.subscribers(targets);
}

/** Events per delivery. */
export const DELIVERY_BATCH = 100;
/** How long a subscriber has to take a batch (ms). */
export const DELIVERY_DEADLINE_MS = 10_000;
/** A batch is leased for its deadline plus this (ms). */
export const LEASE_MARGIN_MS = 5_000;

/** Rows `first`..`last` (ids) of one subscriber, out for delivery; `attempts`: failures of the oldest so far. */
export interface Batch {
  subscriber: string;
  first: number;
  last: number;
  attempts: number;
  events: HealthEvent[];
}

/** The `outbox` table. */
export class Outbox {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Queues `event` for each subscriber, due at `now` (call inside the transition's transaction). */
  add(event: HealthEvent, subscribers: readonly string[], now: number): void {
    const json = JSON.stringify(event);
    for (const s of subscribers) this.#sql.run('INSERT INTO outbox (subscriber, event, created_at, due_at) VALUES (?, ?, ?, ?)', s, json, now, Math.ceil(now));
  }

  /**
   * Leases the subscriber's oldest rows until `leaseUntil` when the oldest is due at `now` and
   * answers them; otherwise answers when the oldest is due (epoch ms), or null when there is none.
   */
  lease(subscriber: string, now: number, leaseUntil: number): Batch | number | null {
    const rows = this.#sql.all<{ id: number; event: string; due_at: number; attempts: number }>(
      'SELECT id, event, due_at, attempts FROM outbox WHERE subscriber = ? ORDER BY id LIMIT ?',
      subscriber,
      DELIVERY_BATCH,
    );
    const head = rows[0];
    if (!head) return null;
    if (head.due_at > now) return head.due_at;
    const last = rows.at(-1)!.id;
    this.#sql.run('UPDATE outbox SET due_at = ? WHERE subscriber = ? AND id BETWEEN ? AND ?', Math.ceil(leaseUntil), subscriber, head.id, last);
    return { subscriber, first: head.id, last, attempts: head.attempts, events: rows.map((r) => JSON.parse(r.event) as HealthEvent) };
  }

  /**
   * Settles a batch: taken rows are removed; after `error` they count one more attempt and are due
   * after the back-off. Answers when the subscriber's oldest row is due (epoch ms), null when none is left.
   */
  settle(batch: Batch, error: string | undefined, now: number, random: number): number | null {
    const range = [batch.subscriber, batch.first, batch.last] as const;
    if (error === undefined) this.#sql.run('DELETE FROM outbox WHERE subscriber = ? AND id BETWEEN ? AND ?', ...range);
    else {
      const at = Math.ceil(now + backoffMs(batch.attempts + 1, random));
      this.#sql.run(
        'UPDATE outbox SET attempts = attempts + 1, due_at = ?, last_error = ? WHERE subscriber = ? AND id BETWEEN ? AND ?',
        at,
        error.slice(0, 500),
        ...range,
      );
    }
    return this.#sql.first<{ due_at: number }>('SELECT due_at FROM outbox WHERE subscriber = ? ORDER BY id LIMIT 1', batch.subscriber)?.due_at ?? null;
  }

  /** Whether `subscriber` has rows waiting. */
  has(subscriber: string): boolean {
    return this.#sql.first('SELECT 1 AS one FROM outbox WHERE subscriber = ? LIMIT 1', subscriber) !== undefined;
  }

  /** Rows not yet delivered, all subscribers. */
  pending(): number {
    return this.#sql.first<{ n: number }>('SELECT COUNT(*) AS n FROM outbox')?.n ?? 0;
  }

  /** Drops rows created before `before` (epoch ms); answers how many. */
  dropBefore(before: number): number {
    return this.#sql.all('DELETE FROM outbox WHERE created_at < ? RETURNING id', before).length;
  }
}

/** Hands `events` to `subscriber` and waits at most `deadlineMs`; answers why it failed, undefined when taken. Never throws. */
export async function deliverWithin(subscriber: Subscriber, events: HealthEvent[], deadlineMs: number): Promise<string | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${deadlineMs} ms`), deadlineMs);
  });
  const attempt = Promise.resolve()
    .then(() => subscriber.deliver(events))
    .then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e.message : String(e)) || 'failed',
    );
  try {
    return await Promise.race([attempt, late]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
