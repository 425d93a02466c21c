/**
 * What a webhook receives for one health event: the idempotency key, the JSON payload (Standard
 * Webhooks' `{type, timestamp, data}` plus `id`) and the Slack incoming-webhook message
 * (`{text, blocks}`, Block Kit: a section and a context block; `text` is the notification's fallback).
 *
 * JSON payload:
 *   { "id": "<lb id>:<24 hex>", "type": "origin_health" | "pool_health" | "ejection" | "fallback" | "test",
 *     "timestamp": "<ISO 8601 of the transition>",
 *     "data": { "load_balancer": {"id", "name"} | null, "pool": {"id", "name"} | null, "origin": "<name>" | null,
 *               "healthy": <true: recovered>, "from", "to", "reason" } }
 */
import type { HealthEvent } from '../health/index.ts';
import type { NotificationKind } from './events.ts';

/** One event as a webhook is told it. */
export interface Notification {
  /** Idempotency key (idempotencyKey). */
  id: string;
  type: NotificationKind | 'test';
  healthy: boolean;
  event: HealthEvent;
  /** Null for a test notification. */
  lb: { id: string; name: string | null } | null;
  pool: { id: string; name: string | null } | null;
}

/**
 * The idempotency key of `event` in load balancer `lbId`: `<lbId>:` + the first 24 hex digits of
 * SHA-256 over the event's JSON. The same transition always gets the same key (across retries,
 * evictions and webhooks), two transitions differ (they differ in time, origin or states).
 */
export async function idempotencyKey(lbId: string, event: HealthEvent): Promise<string> {
  const canonical = JSON.stringify([event.at, event.poolId, event.origin, event.from, event.to, event.reason]);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical)));
  return `${lbId}:${[...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The JSON payload (see the module comment). */
export function jsonPayload(n: Notification): string {
  const e = n.event;
  return JSON.stringify({
    id: n.id,
    type: n.type,
    timestamp: new Date(e.at).toISOString(),
    data: { load_balancer: n.lb, pool: n.pool, origin: e.origin || null, healthy: n.healthy, from: e.from, to: e.to, reason: e.reason },
  });
}

/** Slack's mrkdwn escaping: only &, < and > (api.slack.com "Formatting text for app surfaces"). */
export const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One line saying what happened, in plain words (the Slack `text`). */
export function headline(n: Notification): string {
  const pool = n.pool?.name ?? n.pool?.id ?? '';
  const lb = n.lb?.name ?? n.lb?.id ?? '';
  switch (n.type) {
    case 'origin_health':
      return `Origin ${n.event.origin} of pool ${pool} is ${n.healthy ? 'healthy again' : 'unhealthy'} (${lb})`;
    case 'ejection':
      return `Origin ${n.event.origin} of pool ${pool} ${n.healthy ? 'is back in rotation' : 'was ejected by outlier detection'} (${lb})`;
    case 'pool_health':
      return `Pool ${pool} is ${n.healthy ? 'healthy again' : 'unhealthy'} (${lb})`;
    case 'fallback':
      return n.healthy ? `${lb} no longer uses its fallback pool ${pool}` : `${lb} is serving from its fallback pool ${pool}`;
    case 'test':
      return 'Test notification from edge-lb';
  }
}

/** The Slack incoming-webhook message: `text` (fallback, notifications) and Block Kit `blocks`. */
export function slackPayload(n: Notification): string {
  const icon = n.type === 'test' ? ':information_source:' : n.healthy ? ':large_green_circle:' : ':red_circle:';
  const text = `${icon} ${headline(n)}`;
  const details = [`${n.event.from || '-'} → ${n.event.to || '-'}`, new Date(n.event.at).toISOString(), n.id];
  return JSON.stringify({
    text: slackEscape(text),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: slackEscape(`${text}\n${n.event.reason}`) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(details.join(' · ')) }] },
    ],
  });
}
