/**
 * `GET /admin/v1/metrics`: every load balancer's traffic and health in the Prometheus text
 * exposition format 0.0.4 (core/metrics/prometheus renderMetrics), for a Prometheus server to
 * scrape with the admin or a read-only bearer token (`authorization` in its scrape config).
 *
 * Counting happens in each load balancer's LbState (fed by the edges' outcome reports), not per
 * isolate, so every scrape sees the same monotonic counters whichever isolate answers it. The
 * LbStates of the enabled load balancers are asked concurrently (at most SCRAPE_CONCURRENCY at
 * once) within SCRAPE_DEADLINE_MS; one that fails or is late is left out of the scrape and counted
 * in the `edge_lb_scrape_errors` gauge (and logged), so one sick object never fails the scrape.
 */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import type { Client, LbMetrics, LbStateApi } from '../../core/rpc/index.ts';
import { CONTENT_TYPE, renderMetrics, type Scraped } from '../../core/metrics/prometheus.ts';
import { configStore, lbState } from '../rpc.ts';
import { failures, type AdminEnv } from './envelope.ts';

/** The longest a scrape waits for the LbStates (ms); Prometheus' default scrape_timeout is 10 s. */
export const SCRAPE_DEADLINE_MS = 5000;
/** LbStates asked at once. */
export const SCRAPE_CONCURRENCY = 32;

/** A load balancer to scrape: its id (the LbState's name) and hostname (the `load_balancer` label). */
export interface ScrapeTarget {
  id: string;
  name: string;
}

/**
 * Asks each target's LbState for its metrics, at most `concurrency` at once, all within
 * `deadlineMs`: answers what came in time (in target order) and how many failed or were late.
 * Never rejects.
 */
export async function scrape(
  targets: readonly ScrapeTarget[],
  open: (id: string) => Pick<Client<LbStateApi>, 'metrics'>,
  deadlineMs = SCRAPE_DEADLINE_MS,
  concurrency = SCRAPE_CONCURRENCY,
): Promise<{ scraped: Scraped[]; errors: number }> {
  const results: (LbMetrics | undefined)[] = new Array(targets.length);
  let timer: ReturnType<typeof setTimeout> | null = null;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deadlineMs)));
  let next = 0;
  let over = false;
  const worker = async () => {
    while (!over && next < targets.length) {
      const i = next++;
      const t = targets[i]!;
      const got = await Promise.race([open(t.id).metrics(), late]).catch((e: unknown) => {
        console.error(`metrics: load balancer ${t.id} did not answer: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      });
      if (got === 'late') over = true;
      else results[i] = got;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
  const scraped = targets.flatMap((t, i) => (results[i] ? [{ loadBalancer: t.name, metrics: results[i] }] : []));
  if (over) console.error(`metrics: ${targets.length - scraped.length} load balancer(s) left out, not answered within ${deadlineMs} ms`);
  return { scraped, errors: targets.length - scraped.length };
}

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  summary: 'Traffic and health of every load balancer, in the Prometheus text exposition format 0.0.4',
  description:
    'Counters since each load balancer was created: edge_lb_requests_total{load_balancer,pool,origin,code_class}, ' +
    'edge_lb_request_duration_seconds (histogram), edge_lb_connect_errors_total, edge_lb_timeouts_total, edge_lb_retries_total, ' +
    'edge_lb_bytes_received_total, edge_lb_bytes_sent_total, edge_lb_health_events_total; gauges: edge_lb_origin_healthy, ' +
    'edge_lb_origin_ejected, edge_lb_pool_healthy, edge_lb_probe_rtt_seconds, edge_lb_scrape_errors. Read-only tokens may scrape it.',
  responses: {
    200: {
      description: 'The exposition (Content-Type: text/plain; version=0.0.4)',
      content: { 'text/plain': { schema: z.string().describe('Prometheus text exposition format 0.0.4') } },
    },
    ...failures(401),
  },
});

export function metricsRoutes() {
  return new OpenAPIHono<AdminEnv>().openapi(metricsRoute, async (c) => {
    const { doc } = await configStore(c.env).snapshot(-1);
    const targets = (doc?.load_balancers ?? []).filter((lb) => lb.enabled).map((lb) => ({ id: lb.id, name: lb.name }));
    const { scraped, errors } = await scrape(targets, (id) => lbState(c.env, id));
    return c.text(renderMetrics(scraped, errors), 200, { 'content-type': CONTENT_TYPE, 'cache-control': 'no-store' });
  });
}
