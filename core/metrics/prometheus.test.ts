import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { LbMetrics } from '../rpc/index.ts';
import { countAttempt, emptyCounts } from './index.ts';
import { Exposition, escapeLabelValue, formatValue, renderMetrics } from './prometheus.ts';

/** `promtool check metrics` (Debian's prometheus package): its exit status and what it printed. */
function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

const HOSTILE = 'evil"} 1\nedge_lb_fake{x="\\';

function metricsOf(origin: string): LbMetrics {
  const traffic = emptyCounts();
  countAttempt(traffic, 200, 7, 10, 20, false);
  countAttempt(traffic, 502, 30, 10, 0, true);
  return {
    at: 0,
    origins: [{ poolId: 'p1', origin, traffic, healthy: true, ejected: false, probeRttMs: 12 }],
    pools: [{ poolId: 'p1', healthy: true }],
    healthEvents: 3,
  };
}

describe('the Prometheus exposition', () => {
  it('escapes label values and formats values as the text format wants', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect([1, 0.25, NaN, Infinity, -Infinity].map(formatValue)).toEqual(['1', '0.25', 'NaN', '+Inf', '-Inf']);
    const text = new Exposition()
      .family('x_total', 'counter', 'a\\b\nc')
      .sample('x_total', [['origin', HOSTILE]], 2)
      .text();
    expect(text).toBe(`# HELP x_total a\\\\b\\nc\n# TYPE x_total counter\nx_total{origin="evil\\"} 1\\nedge_lb_fake{x=\\"\\\\"} 2\n`);
  });

  it('refuses invalid names and a family written twice (bugs of ours, not input)', () => {
    expect(() => new Exposition().family('1x', 'gauge', '')).toThrow(/invalid metric name/);
    expect(() => new Exposition().family('x', 'gauge', 'h').sample('x', [['bad-label', 'v']], 1)).toThrow(/invalid label name/);
    expect(() => new Exposition().family('x', 'gauge', 'h').family('x', 'gauge', 'h')).toThrow(/twice/);
  });

  it('renders counters, a cumulative histogram in seconds and gauges', () => {
    const text = renderMetrics([{ loadBalancer: 'app.example.com', metrics: metricsOf('a') }], 1);
    const labels = 'load_balancer="app.example.com",pool="p1",origin="a"';
    expect(text).toContain(`edge_lb_requests_total{${labels},code_class="2xx"} 1\n`);
    expect(text).toContain(`edge_lb_requests_total{${labels},code_class="5xx"} 1\n`);
    expect(text).toContain(`edge_lb_request_duration_seconds_bucket{${labels},le="0.005"} 0\n`);
    expect(text).toContain(`edge_lb_request_duration_seconds_bucket{${labels},le="0.01"} 1\n`);
    expect(text).toContain(`edge_lb_request_duration_seconds_bucket{${labels},le="0.05"} 2\n`);
    expect(text).toContain(`edge_lb_request_duration_seconds_bucket{${labels},le="+Inf"} 2\n`);
    expect(text).toContain(`edge_lb_request_duration_seconds_sum{${labels}} 0.037\n`);
    expect(text).toContain(`edge_lb_request_duration_seconds_count{${labels}} 2\n`);
    expect(text).toContain(`edge_lb_retries_total{${labels}} 1\n`);
    expect(text).toContain(`edge_lb_bytes_sent_total{${labels}} 20\n`);
    expect(text).toContain(`edge_lb_probe_rtt_seconds{${labels}} 0.012\n`);
    expect(text).toContain('edge_lb_pool_healthy{load_balancer="app.example.com",pool="p1"} 1\n');
    expect(text).toContain('edge_lb_health_events_total{load_balancer="app.example.com"} 3\n');
    expect(text).toContain('edge_lb_scrape_errors 1\n');
  });

  it('passes promtool check metrics with no complaint, a hostile origin name included', () => {
    const text = renderMetrics(
      [
        { loadBalancer: 'app.example.com', metrics: metricsOf(HOSTILE) },
        { loadBalancer: 'other.example.com', metrics: metricsOf('b (eu) /1+2') },
      ],
      0,
    );
    expect(text.split('\n').filter((l) => l.startsWith('edge_lb_fake'))).toEqual([]); // no injected sample line
    expect(promtool(text)).toEqual({ status: 0, out: '' });
    // The check can fail: an unescaped quote is an error.
    expect(promtool(text.replace('evil\\"', 'evil"')).status).not.toBe(0);
  });
});
