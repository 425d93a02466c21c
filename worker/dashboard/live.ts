/**
 * The live JSON the pages poll (static/dashboard.js, every 2 s): the same cells the server rendered
 * (format.ts), keyed by the rows' `data-k`, plus the request counts and chart columns.
 *
 * - Overview: `{at, rows: {<lb id>: {cells, tone, total}}}`.
 * - Load balancer: `{at, enabled, summary: {rate, errors}, pools: {<pool id>: {text, tone}},
 *   origins: {<pool id>/<origin>: {cells, tone, total}}, events: [{at, subject, change, reason}],
 *   series: ChartSeries | null}` (series null without traffic metrics).
 * `at` is the server's epoch ms; `total` counts requests the edges reported (backend-stats), from
 * which the page computes each origin's recent share.
 */
import type { LbView, OverviewRow } from './api.ts';
import { CHART_WINDOW_MS, chartSeries, readSeries, recent } from './charts.ts';
import { eventLine, originCells, overviewCells, percent, poolLine, rate } from './format.ts';

/** Window of the overview's requests/s and error rate: the last three closed 10 s points. */
const RECENT_MS = 40_000;

/** `rows` with their recent requests/s and error rate from each load balancer's traffic series. */
export async function withTraffic(env: Pick<Env, 'LB_STATE'>, rows: OverviewRow[], now: number): Promise<OverviewRow[]> {
  const replies = await Promise.all(rows.map((r) => readSeries(env, r.id, now - RECENT_MS)));
  return rows.map((r, i) => {
    const reply = replies[i];
    return reply ? { ...r, ...recent(reply) } : r;
  });
}

export function overviewLive(rows: OverviewRow[], at: number) {
  return { at, rows: Object.fromEntries(rows.map((r) => [r.id, { ...overviewCells(r), total: r.total }])) };
}

/** A load balancer's traffic for its page: the chart columns over CHART_WINDOW_MS and the recent summary (undefined without metrics). */
export async function lbTraffic(env: Pick<Env, 'LB_STATE'>, lb: LbView, now: number) {
  const reply = await readSeries(env, lb.id, now - CHART_WINDOW_MS);
  if (!reply) return undefined;
  const keys = lb.pools.flatMap((p) => p.origins.map((o) => o.key)).slice(0, 20);
  const r = recent(reply);
  return { series: chartSeries(reply, keys), summary: { rate: rate(r.rate), errors: percent(r.errors) } };
}

export function lbLive(lb: LbView, traffic: Awaited<ReturnType<typeof lbTraffic>>, at: number) {
  return {
    at,
    enabled: lb.enabled,
    summary: traffic?.summary ?? { rate: '–', errors: '–' },
    pools: Object.fromEntries(lb.pools.map((p) => [p.id, poolLine(p)])),
    origins: Object.fromEntries(lb.pools.flatMap((p) => p.origins.map((o) => [o.key, { ...originCells(o), total: o.total }]))),
    events: lb.events.map(eventLine),
    series: traffic?.series ?? null,
  };
}
