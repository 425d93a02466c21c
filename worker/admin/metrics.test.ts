import { SELF, env } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { lbState } from '../rpc.ts';
import { scrape } from './metrics.ts';

const ports = inject('probePorts');
const admin = (path: string, token = 'test-admin-token', init: RequestInit = {}) =>
  SELF.fetch(`http://localhost/admin/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
  });
const HOST = 'metrics.example.com';
const ORIGIN = 'web (eu) /1+2';

async function until<T>(read: () => Promise<T>, ok: (t: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const t = await read();
    if (ok(t)) return t;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within 10 s`);
}

describe('GET /admin/v1/metrics', () => {
  it('counts traffic sent through the Worker, in the exposition format, for a read-only token; backend-stats follows traffic', async () => {
    const put = await admin('/config', undefined, {
      method: 'PUT',
      body: JSON.stringify({
        // No monitor: nothing probes these origins, so only traffic can tell how they are.
        pools: [{ id: 'web', name: 'web', origins: [{ name: ORIGIN, address: '127.0.0.1', port: ports.http }] }],
        load_balancers: [{ id: 'lb-m', name: HOST, default_pools: ['web'], fallback_pool: 'web' }],
      }),
    });
    expect(put.status).toBe(200);
    await lbState(env, 'lb-m').sync({ lbId: 'lb-m', pools: [{ pool: (await (await admin('/pools/web')).json<{ result: never }>()).result }] });
    const states = async () =>
      (await (await admin('/load_balancers/lb-m/backend-stats')).json<{ result: { server_state: string; total_count: number }[] }>()).result;
    expect((await states())[0]!.server_state).toBe('starting');

    for (const path of ['/ok', '/ok', '/fail']) await (await SELF.fetch(`http://${HOST}${path}`)).arrayBuffer();
    await (await SELF.fetch(`http://${HOST}/ok`, { method: 'POST', body: 'x'.repeat(1000) })).arrayBuffer();
    const labels = `load_balancer="${HOST}",pool="web",origin="${ORIGIN}"`;
    const text = await until(
      async () => (await admin('/metrics', 'test-read-token')).text(),
      (t) => t.includes(`edge_lb_requests_total{${labels},code_class="5xx"} 1\n`),
      'the 5xx counted',
    );
    const res = await admin('/metrics', 'test-read-token');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text).toContain(`edge_lb_requests_total{${labels},code_class="2xx"} 3\n`);
    expect(text).toContain(`edge_lb_request_duration_seconds_count{${labels}} 4\n`);
    expect(text).toContain(`edge_lb_bytes_sent_total{${labels}} 1000\n`);
    expect(text).toContain(`edge_lb_bytes_received_total{${labels}} 0\n`); // the test origin answers chunked: no Content-Length, size unknown
    expect(text).toContain(`edge_lb_origin_healthy{${labels}} 1\n`);
    expect(text).toContain('edge_lb_scrape_errors 0\n');
    expect(text).toMatch(/^# HELP edge_lb_requests_total .+\n# TYPE edge_lb_requests_total counter\n/);

    // An origin of an unmonitored pool that served requests is running, not starting forever.
    expect(await states()).toMatchObject([{ server_state: 'running', total_count: 4 }]);
  });

  it('refuses a wrong token', async () => {
    const res = await admin('/metrics', 'wrong-token');
    expect(res.status).toBe(401);
  });

  it('leaves out a load balancer whose state fails or does not answer in time, and counts it', async () => {
    const real = lbState(env, 'lb-scrape-ok');
    await real.sync({ lbId: 'lb-scrape-ok', pools: [] });
    const open = (id: string) => ({
      metrics: () => (id === 'ok' ? real.metrics() : id === 'throws' ? Promise.reject(new Error('sick')) : new Promise<never>(() => {})),
    });
    const targets = ['hangs', 'ok', 'throws'].map((id) => ({ id, name: `${id}.example.com` }));
    const { scraped, errors } = await scrape(targets, open, 2000, 2);
    expect(scraped.map((s) => s.loadBalancer)).toEqual(['ok.example.com']);
    expect(errors).toBe(2);
  });
});
