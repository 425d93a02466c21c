import { SELF, createExecutionContext, createScheduledController, env, runDurableObjectAlarm, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import worker from '../index.ts';

const call = (path: string, init: RequestInit = {}) =>
  SELF.fetch(`http://localhost/admin/v1${path}`, {
    ...init,
    headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json', ...init.headers },
  });

interface Status {
  published: boolean;
  reason: string | null;
  zone: string | null;
  desired_records: { type: string; content: string; ttl: number }[];
  pool_id: string | null;
  basis: string | null;
  last_error: { kind: string; message: string; failures: number } | null;
  next_due_at: string | null;
}

describe('GET /load_balancers/{id}/dns', () => {
  it('answers the DNS failover status of a DNS-only load balancer, says a proxied one is not published, 404 for an unknown one', async () => {
    const put = await call('/config', {
      method: 'PUT',
      body: JSON.stringify({
        pools: [
          {
            id: 'dp',
            name: 'dp',
            origins: [
              { name: 'v4', address: '192.0.2.1' },
              { name: 'v6', address: '2001:db8::1' },
            ],
          },
        ],
        dns_zones: [
          {
            id: 'dz',
            name: 'example.com',
            provider: { type: 'rfc2136', server: '127.0.0.1', tsig_key_name: 'edge-lb', tsig_secret: 'DNS_TSIG_MALFORMED' },
          },
        ],
        load_balancers: [
          { id: 'lb-dns', name: 'dns.example.com', proxied: false, ttl: 45, default_pools: ['dp'], fallback_pool: 'dp', dns: { zone: 'dz' } },
          { id: 'lb-proxied', name: 'proxied.example.com', default_pools: ['dp'], fallback_pool: 'dp' },
        ],
      }),
    });
    expect(put.status).toBe(200);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: '* * * * *' }), env, ctx); // syncs every LbState
    await waitOnExecutionContext(ctx);
    // The DNS run: the secret binding holds no usable key, so nothing is sent and the status says why.
    await runDurableObjectAlarm(env.LB_STATE.getByName('lb-dns'));

    // The run goes on after the alarm answered (a slow provider never delays probes).
    const result = await vi.waitFor(async () => {
      const res = await call('/load_balancers/lb-dns/dns');
      expect(res.status).toBe(200);
      const { result } = await res.json<{ result: Status }>();
      expect(result.last_error).not.toBeNull();
      return result;
    });
    expect(result).toMatchObject({ published: true, reason: null, zone: 'example.com', pool_id: 'dp', basis: 'healthy' });
    expect(result.desired_records).toEqual([
      { name: 'dns.example.com', type: 'A', content: '192.0.2.1', ttl: 45 },
      { name: 'dns.example.com', type: 'AAAA', content: '2001:db8::1', ttl: 45 },
    ]);
    expect(result.last_error).toMatchObject({ kind: 'auth', failures: 1, message: expect.stringContaining('TSIG key edge-lb is unusable') });
    expect(Date.parse(result.next_due_at!)).toBeGreaterThan(0);

    const proxied = await (await call('/load_balancers/lb-proxied/dns')).json<{ result: Status }>();
    expect(proxied.result).toMatchObject({ published: false, reason: 'proxied: answered by the proxy, not published in DNS', desired_records: [] });
    const missing = await call('/load_balancers/nope/dns');
    expect(missing.status).toBe(404);
    expect((await missing.json<{ success: boolean }>()).success).toBe(false);
  });
});
