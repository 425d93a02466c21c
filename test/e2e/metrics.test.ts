/**
 * Metrics end to end: the real Worker under wrangler dev, real origins on 127.0.0.1 (one answers
 * 500, one is a closed port), a known load, then GET /admin/v1/metrics must agree with what the
 * origins and the client saw (within the report interval: polled until it converges) and pass
 * Prometheus' own parser, `promtool check metrics` (Debian's prometheus package).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OriginServer, startOrigins } from '../../scripts/lib/origin-server.ts';
import { freePort, startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { tempState, teardown } from './stack.ts';
import { pool, send } from '../http-client.ts';

const TOKEN = 'e2e-metrics-token-0123456789';
const READ_TOKEN = 'e2e-metrics-read-token-0123456789';
const HOST = 'metrics.e2e.test';
const REQUESTS = 300;
let state: string;
let worker: WranglerDev;
let origins: OriginServer[];

const admin = (path: string, token = TOKEN, method = 'GET', body?: unknown) =>
  send(`${worker.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** The samples of `name` in an exposition, by their label text. */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{.*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}
const sum = (m: Map<string, number>, match: RegExp) => [...m].filter(([labels]) => match.test(labels)).reduce((n, [, v]) => n + v, 0);

beforeAll(async () => {
  state = tempState('metrics');
  origins = await startOrigins(['ok', 'failing']);
  origins[1]!.mode = { status: 500 };
  worker = await startWranglerDev({ persistTo: state, vars: { ADMIN_TOKEN: TOKEN, ADMIN_READ_TOKENS: READ_TOKEN } });
  const res = await admin('/config', TOKEN, 'PUT', {
    pools: [
      {
        id: 'web',
        name: 'web',
        // No monitor and no outlier detection: the closed port stays in rotation, so connection
        // errors and retries happen throughout.
        origins: [
          ...origins.map((o) => ({ name: o.name, address: '127.0.0.1', port: o.port })),
          { name: 'closed', address: '127.0.0.1', port: await freePort() },
        ],
        outlier_detection: { enabled: false },
      },
    ],
    load_balancers: [{ id: 'lb', name: HOST, default_pools: ['web'], fallback_pool: 'web' }],
  });
  if (res.status !== 200) throw new Error(`config: ${res.status} ${res.body}`);
}, 90_000);

afterAll(() => teardown(worker, origins, state));

describe('GET /admin/v1/metrics under load', () => {
  it('agrees with what the origins and the client saw, and passes promtool check metrics', async () => {
    const results = await pool(REQUESTS, 10, () => send(`${worker.url}/m`, { host: HOST }));
    const [ok, failing] = origins.map((o) => o.seen.length);
    const statuses = results.map((r) => r.status);
    // Every request reached a live origin (a closed port is retried), 500s are answered as they are.
    expect(statuses.filter((s) => s === 200).length).toBe(ok);
    expect(statuses.filter((s) => s === 500).length).toBe(failing);
    expect(ok! + failing!).toBe(REQUESTS);
    expect(failing).toBeGreaterThan(0);

    const lb = `load_balancer="${HOST}",pool="web"`;
    const end = Date.now() + 20_000;
    let text = '';
    let seen = -1;
    while (Date.now() < end) {
      const res = await admin('/metrics', READ_TOKEN);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      text = res.body;
      seen = sum(samples(text, 'edge_lb_requests_total'), /./);
      if (seen === REQUESTS) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const requests = samples(text, 'edge_lb_requests_total');
    expect(seen).toBe(REQUESTS);
    expect(requests.get(`{${lb},origin="ok",code_class="2xx"}`)).toBe(ok);
    expect(requests.get(`{${lb},origin="failing",code_class="5xx"}`)).toBe(failing);
    expect(sum(requests, /code_class="[134]xx"/)).toBe(0);
    // Each attempt on the closed port was a connection error, and each was retried on a live origin.
    const connectErrors = samples(text, 'edge_lb_connect_errors_total').get(`{${lb},origin="closed"}`)!;
    expect(connectErrors).toBeGreaterThan(0);
    expect(sum(samples(text, 'edge_lb_retries_total'), /./)).toBe(connectErrors);
    expect(sum(samples(text, 'edge_lb_request_duration_seconds_count'), /./)).toBe(REQUESTS);
    expect(samples(text, 'edge_lb_request_duration_seconds_bucket').get(`{${lb},origin="ok",le="+Inf"}`)).toBe(ok);
    expect(samples(text, 'edge_lb_scrape_errors').get('')).toBe(0);

    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);
  }, 90_000);
});
