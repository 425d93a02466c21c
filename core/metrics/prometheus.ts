/**
 * Prometheus text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
 * a small writer (HELP and TYPE once per family, samples of a family together, label values
 * escaped) and the load balancer's metrics in it (`renderMetrics`).
 *
 * Why not a library: prom-client and @opentelemetry/exporter-prometheus run on Node (process-wide
 * registries, node:http); promjs-plus runs anywhere but escapes no label value (a quote in an
 * origin name breaks its output) and finds a series by a linear scan (quadratic for 1,000
 * origins). The format itself is the few rules below; counting happens in LbState, not in a
 * registry, so only the writing is needed.
 *
 * Labels: `load_balancer` is the load balancer's hostname (unique), `pool` the pool id (names may
 * repeat), `origin` the origin name. Latency is in seconds, as Prometheus' base unit.
 */
import type { LbMetrics } from '../rpc/index.ts';
import { CODE_CLASSES, LATENCY_BOUNDS_MS, LATENCY_BUCKETS, type TrafficCounts } from './index.ts';

/** The Content-Type of the exposition. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'histogram';
/** Label pairs in order: [name, value]. */
export type Labels = readonly (readonly [string, string])[];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value as the format wants it: backslash, double quote and line feed escaped. */
export const escapeLabelValue = (v: string): string => v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
/** HELP text: backslash and line feed escaped. */
const escapeHelp = (v: string): string => v.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));

/** A sample value: Go's float syntax (NaN, +Inf, -Inf; JavaScript's number text otherwise, which Go's ParseFloat reads). */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  return String(n);
}

/** Writes one exposition: a family's HELP and TYPE, then its samples; families are never split. Throws on an invalid metric or label name (a bug of ours). */
export class Exposition {
  readonly #lines: string[] = [];
  readonly #families = new Set<string>();

  family(name: string, type: MetricType, help: string): this {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    if (this.#families.has(name)) throw new Error(`metric family ${name} written twice`);
    this.#families.add(name);
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    let pairs = '';
    for (const [k, v] of labels) {
      if (!LABEL_NAME.test(k)) throw new Error(`invalid label name ${JSON.stringify(k)}`);
      pairs += `${pairs ? ',' : ''}${k}="${escapeLabelValue(v)}"`;
    }
    this.#lines.push(`${name}${pairs ? `{${pairs}}` : ''} ${formatValue(value)}`);
    return this;
  }

  /** The exposition, ending with a line feed. */
  text(): string {
    return this.#lines.length ? `${this.#lines.join('\n')}\n` : '';
  }
}

/** One load balancer's metrics, under its hostname. */
export interface Scraped {
  loadBalancer: string;
  metrics: LbMetrics;
}

type Counter = (t: TrafficCounts) => number;
const COUNTERS: [name: string, help: string, value: Counter][] = [
  ['edge_lb_connect_errors_total', 'Attempts on an origin that got no connection (or it broke before the response headers).', (t) => t.connectErrors],
  ['edge_lb_timeouts_total', 'Attempts on an origin with no response headers within per_try_timeout.', (t) => t.timeouts],
  ['edge_lb_retries_total', "Attempts that were not a request's first (counted on the origin retried on).", (t) => t.retries],
  ['edge_lb_bytes_received_total', 'Response body bytes received from the origin (Content-Length, when present).', (t) => t.bytesReceived],
  ['edge_lb_bytes_sent_total', 'Request body bytes sent to the origin (when the size is known).', (t) => t.bytesSent],
];
const LE = [...LATENCY_BOUNDS_MS.map((ms) => formatValue(ms / 1000)), '+Inf'];

/**
 * The exposition of every scraped load balancer, plus `edge_lb_scrape_errors` (load balancers
 * whose LbState did not answer and are left out of this scrape).
 */
export function renderMetrics(scraped: readonly Scraped[], scrapeErrors: number): string {
  const out = new Exposition();
  const origins = scraped.flatMap(({ loadBalancer, metrics }) =>
    metrics.origins.map((o) => ({ o, labels: [['load_balancer', loadBalancer] as const, ['pool', o.poolId] as const, ['origin', o.origin] as const] })),
  );

  out.family('edge_lb_requests_total', 'counter', 'Responses from an origin, by status class (1xx-5xx).');
  for (const { o, labels } of origins) {
    for (let c = 0; c < CODE_CLASSES; c++) out.sample('edge_lb_requests_total', [...labels, ['code_class', `${c + 1}xx`]], o.traffic.codes[c] ?? 0);
  }

  const h = 'edge_lb_request_duration_seconds';
  out.family(h, 'histogram', 'Time from sending a request to an origin to its response headers (s).');
  for (const { o, labels } of origins) {
    let cumulative = 0;
    for (let b = 0; b < LATENCY_BUCKETS; b++) {
      cumulative += o.traffic.latency[b] ?? 0;
      out.sample(`${h}_bucket`, [...labels, ['le', LE[b]!]], cumulative);
    }
    out.sample(`${h}_sum`, labels, o.traffic.latencySumMs / 1000).sample(`${h}_count`, labels, cumulative);
  }

  for (const [name, help, value] of COUNTERS) {
    out.family(name, 'counter', help);
    for (const { o, labels } of origins) out.sample(name, labels, value(o.traffic));
  }

  out.family('edge_lb_origin_healthy', 'gauge', '1 when the origin is usable by health (not marked down by probes, not ejected), else 0.');
  for (const { o, labels } of origins) out.sample('edge_lb_origin_healthy', labels, o.healthy ? 1 : 0);
  out.family('edge_lb_origin_ejected', 'gauge', '1 while outlier detection has ejected the origin, else 0.');
  for (const { o, labels } of origins) out.sample('edge_lb_origin_ejected', labels, o.ejected ? 1 : 0);
  out.family('edge_lb_probe_rtt_seconds', 'gauge', "Round-trip time of the origin's last health probe (s).");
  for (const { o, labels } of origins) if (o.probeRttMs !== null) out.sample('edge_lb_probe_rtt_seconds', labels, o.probeRttMs / 1000);

  out.family('edge_lb_pool_healthy', 'gauge', '1 when the pool is enabled and at least minimum_origins of its origins are usable, else 0.');
  for (const { loadBalancer, metrics } of scraped) {
    for (const p of metrics.pools)
      out.sample(
        'edge_lb_pool_healthy',
        [
          ['load_balancer', loadBalancer],
          ['pool', p.poolId],
        ],
        p.healthy ? 1 : 0,
      );
  }
  out.family('edge_lb_health_events_total', 'counter', 'Health transitions (probe verdicts, ejections and returns) logged by the load balancer.');
  for (const { loadBalancer, metrics } of scraped) out.sample('edge_lb_health_events_total', [['load_balancer', loadBalancer]], metrics.healthEvents);

  out.family('edge_lb_scrape_errors', 'gauge', 'Load balancers whose state did not answer in time and are missing from this scrape.');
  out.sample('edge_lb_scrape_errors', [], scrapeErrors);
  return out.text();
}
