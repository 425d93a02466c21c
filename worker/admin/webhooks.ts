/**
 * Webhook actions of the admin API (the resource itself is CRUD in resources.ts):
 *
 * - `POST /webhooks/{id}/test`: sends one test notification now, signed like the real ones, from
 *   the LbState named `webhook-test:<id>` (durable-objects/lb-state/notify.ts: the Worker holds no
 *   sending code) and answers what the receiver did: `{id, status, latency_ms, error}`; `status`
 *   is null and `error` says why when nothing answered (refused, timed out, secret not set). A
 *   receiver's failure is still a 200: the test ran.
 * - `GET /webhooks/{id}/status`: whether its secret binding is usable, and per load balancer it
 *   applies to, the events waiting for it (the oldest one's attempts, last error and next try).
 *   Where an operator sees a delivery that keeps failing, e.g. a secret binding that is not set.
 */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { ErrorCode, IdSchema, type Webhook } from '../../core/config/index.ts';
import { decodeSecret } from '../../core/notify/index.ts';
import { configStore, lbState } from '../rpc.ts';
import { Envelope, REFUSALS, failure, failures, json, ok, refuse, type AdminBindings, type AdminEnv } from './envelope.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const params = z.object({ id: IdSchema.describe('webhook id') });

const TestResult = z
  .object({
    id: z.string().describe('the test notification id (webhook-id, Idempotency-Key): test:<uuid>'),
    status: z.int().nullable().describe("the receiver's HTTP status; null when it did not answer"),
    latency_ms: z.number().nullable().describe('ms until the response headers'),
    error: z.string().nullable().describe('why nothing answered (connection refused, timeout, secret binding not set)'),
  })
  .meta({ id: 'WebhookTestResult' });
const Status = z
  .object({
    webhook_id: z.string(),
    enabled: z.boolean(),
    secret: z.object({
      binding: z.string().nullable().describe('the secret binding named by the webhook; null: deliveries are unsigned'),
      usable: z.boolean().describe('set and of the right form (whsec_ + base64 of 24-64 bytes); false: nothing is delivered'),
      error: z.string().nullable(),
    }),
    load_balancers: z.array(
      z.object({
        load_balancer_id: z.string(),
        pending: z.int().describe('events waiting for this webhook'),
        oldest_pending_at: z.string().nullable(),
        attempts: z.int().describe('failed attempts of the oldest waiting event'),
        last_error: z.string().nullable(),
        next_attempt_at: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'WebhookStatus' });

const test = createRoute({
  method: 'post',
  path: '/webhooks/{id}/test',
  summary: 'Send one test notification now (signed like the real ones); answers the receiver status and latency',
  request: { params },
  responses: { 200: json(Envelope(TestResult), 'What the receiver answered, or why it did not'), ...failures(400, 401, 403, 404) },
});
const status = createRoute({
  method: 'get',
  path: '/webhooks/{id}/status',
  summary: 'Delivery status: secret binding, and per load balancer the events waiting and the last error',
  request: { params },
  responses: { 200: json(Envelope(Status), 'Delivery status'), ...failures(400, 401, 404) },
});

/** Whether the webhook's secret binding is usable: unset or malformed means no delivery at all (never unsigned). */
function secretState(env: AdminBindings, w: Webhook) {
  if (!w.secret) return { binding: null, usable: true, error: null };
  const value = (env as unknown as Record<string, unknown>)[w.secret];
  if (typeof value !== 'string' || !value) return { binding: w.secret, usable: false, error: `secret binding ${w.secret} is not set: nothing is delivered` };
  try {
    decodeSecret(value);
    return { binding: w.secret, usable: true, error: null };
  } catch (e) {
    return { binding: w.secret, usable: false, error: `secret binding ${w.secret} ${(e as Error).message}` };
  }
}

export function webhookRoutes() {
  return new OpenAPIHono<AdminEnv>()
    .openapi(test, async (c) => {
      const { id } = c.req.valid('param');
      const read = await configStore(c.env).get('webhooks', id);
      if (!read.ok) return refuse(c, read, REFUSALS.get);
      const r = await lbState(c.env, `webhook-test:${id}`).testWebhook(read.value.value as Webhook);
      return c.json(ok({ id: r.id, status: r.status, latency_ms: r.latencyMs, error: r.error }), 200);
    })
    .openapi(status, async (c) => {
      const { id } = c.req.valid('param');
      const { doc } = await configStore(c.env).snapshot(-1);
      const w = doc?.webhooks.find((x) => x.id === id);
      if (!doc || !w) return failure(c, 404, [{ code: ErrorCode.notFound, message: `webhook ${id} not found` }]);
      const lbs = doc.load_balancers.filter((lb) => lb.enabled && (!w.load_balancers.length || w.load_balancers.includes(lb.id)));
      const rows = await Promise.all(
        lbs.map(async (lb) => {
          const s = await lbState(c.env, lb.id).subscriberStatus(`webhook:${id}`);
          return {
            load_balancer_id: lb.id,
            pending: s.pending,
            oldest_pending_at: iso(s.oldestAt),
            attempts: s.attempts,
            last_error: s.lastError,
            next_attempt_at: iso(s.nextAttemptAt),
          };
        }),
      );
      return c.json(ok({ webhook_id: id, enabled: w.enabled, secret: secretState(c.env, w), load_balancers: rows }), 200);
    });
}
