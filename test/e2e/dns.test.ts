/**
 * DNS failover end to end: the real Worker under wrangler dev (LbState's alarms probe real origins
 * on 127.0.0.1-3) publishes a DNS-only load balancer through RFC 2136 + TSIG into a real BIND9,
 * read back with dig. An origin killed under probes leaves DNS, and comes back after recovery;
 * records nobody owns stay; a run with nothing to change sends no update (the SOA serial stays);
 * a wrong TSIG key is a clear error in the status and the event log, and the zone is unchanged.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OriginServer } from '../../scripts/lib/origin-server.ts';
import { startWranglerDev, type WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { startBind9, type Bind9 } from '../fixtures/bind9.ts';
import { adminResult, teardown, tempState } from './stack.ts';

const TOKEN = 'e2e-dns-token-0123456789';
const INTERVAL = 5;
const TIMEOUT = 1;
let bind: Bind9;
let worker: WranglerDev;
let origins: OriginServer[];
let state: string;

const admin = <T>(path: string, method = 'GET', body?: unknown) => adminResult<T>(worker.url, TOKEN, path, method, body);
type DnsStatus = {
  published_records: { content: string }[];
  last_reconcile: { at: string; changes: number } | null;
  last_error: { kind: string; message: string } | null;
};
type Events = { origin: string; to: string; reason: string; at: string }[];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const serial = async () => (await bind.dig(bind.zone, 'SOA'))[0]?.split(' ')[2];

/** Polls `check` every 100 ms; answers when it became true (epoch ms). The error says what DNS and the load balancer saw. */
async function until(check: () => Promise<boolean>, limitMs: number, what: string, lb = 'app'): Promise<number> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await check()) return Date.now();
    await sleep(100);
  }
  const seen = await Promise.all([admin(`/load_balancers/${lb}/dns`), admin(`/load_balancers/${lb}/events?limit=10`)].map((p) => p.catch(String)));
  throw new Error(
    `${what}: not within ${limitMs} ms\ndns: ${JSON.stringify(seen[0])}\nevents: ${JSON.stringify(seen[1])}\nwrangler: ${worker.output().slice(-2000)}`,
  );
}

beforeAll(async () => {
  bind = await startBind9();
  origins = await Promise.all(['a', 'b', 'c'].map((n, i) => new OriginServer(n, { host: `127.0.0.${i + 1}` }).start()));
  state = tempState('dns');
  worker = await startWranglerDev({
    persistTo: state,
    vars: { ADMIN_TOKEN: TOKEN, DNS_TSIG_KEY: bind.secret, WRONG_TSIG_KEY: randomBytes(32).toString('base64') },
  });
  const provider = { type: 'rfc2136', server: '127.0.0.1', port: bind.port, tsig_key_name: bind.keyName, tsig_algorithm: bind.algorithm };
  await admin('/config', 'PUT', {
    monitors: [{ id: 'm', type: 'http', path: '/health', interval: INTERVAL, timeout: TIMEOUT, retries: 0 }],
    pools: [
      { id: 'web', name: 'web', monitor: 'm', origins: origins.map((o) => ({ name: o.name, address: o.host, port: o.port })) },
      { id: 'spare', name: 'spare', origins: [{ name: 'spare', address: '127.0.0.9', port: 9 }] },
    ],
    dns_zones: [
      { id: 'zone', name: bind.zone, provider: { ...provider, tsig_secret: 'DNS_TSIG_KEY' } },
      { id: 'wrong', name: bind.zone, provider: { ...provider, tsig_secret: 'WRONG_TSIG_KEY' } },
    ],
    load_balancers: [
      { id: 'app', name: `app.${bind.zone}`, proxied: false, ttl: 30, default_pools: ['web'], fallback_pool: 'spare', dns: { zone: 'zone' } },
      { id: 'bad', name: `bad.${bind.zone}`, proxied: false, default_pools: ['web'], fallback_pool: 'spare', dns: { zone: 'wrong' } },
    ],
  });
}, 120_000);

afterAll(async () => {
  await teardown(worker, origins, state);
  await bind?.stop();
});

describe('DNS failover through RFC 2136 into BIND9', () => {
  const name = () => `app.${bind.zone}`;
  const addresses = () => bind.dig(name(), 'A');

  it('publishes the healthy origins, leaves records nobody owns alone', async () => {
    const foreign = { www: await bind.dig(`www.${bind.zone}`, 'A'), other: await bind.dig(`other.${bind.zone}`, 'A') };
    await until(async () => JSON.stringify(await addresses()) === JSON.stringify(['127.0.0.1', '127.0.0.2', '127.0.0.3']), 20_000, 'three A records');
    expect(await bind.dig(name(), 'A')).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    expect({ www: await bind.dig(`www.${bind.zone}`, 'A'), other: await bind.dig(`other.${bind.zone}`, 'A') }).toEqual(foreign);
    expect(foreign.www).toEqual(['192.0.2.10']);
  });

  it('takes a killed origin out within detection + 2 s, and puts it back after recovery', async () => {
    await origins[1]!.stop();
    const gone = await until(async () => !(await addresses()).includes('127.0.0.2'), 4 * INTERVAL * 1000, 'b out of DNS');
    expect(await addresses()).toEqual(['127.0.0.1', '127.0.0.3']);
    const events = await admin<Events>('/load_balancers/app/events?limit=20');
    const detected = events.find((e) => e.origin === 'b' && e.to !== 'healthy');
    expect(detected, JSON.stringify(events)).toBeDefined();
    const lag = gone - Date.parse(detected!.at);
    console.log(`DNS follow-up after detection: ${lag} ms`);
    expect(lag).toBeLessThanOrEqual(2000);

    await origins[1]!.start();
    await until(async () => (await addresses()).includes('127.0.0.2'), 4 * INTERVAL * 1000, 'b back in DNS');
    expect(await addresses()).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  });

  it('sends no update when nothing changed: a config write reconciles with 0 changes and the SOA serial stays', async () => {
    const before = await serial();
    const last = (await admin<DnsStatus>('/load_balancers/app/dns')).last_reconcile!.at;
    await admin('/load_balancers/app', 'PATCH', { description: 'touched' });
    await until(async () => (await admin<DnsStatus>('/load_balancers/app/dns')).last_reconcile!.at !== last, 10_000, 'a second reconcile');
    const status = await admin<DnsStatus>('/load_balancers/app/dns');
    expect(status.last_reconcile!.changes).toBe(0);
    expect(status.published_records.map((r) => r.content).sort()).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    expect(await serial()).toBe(before);
  });

  it('reports a wrong TSIG key in the status and the event log, and changes nothing in the zone', async () => {
    await until(async () => (await admin<DnsStatus>('/load_balancers/bad/dns')).last_error !== null, 10_000, 'an error', 'bad');
    const status = await admin<DnsStatus>('/load_balancers/bad/dns');
    expect(status.last_error!.kind).toBe('auth');
    expect(status.last_error!.message).toContain(bind.keyName);
    expect(status.last_error!.message).not.toContain(bind.secret);
    const events = await admin<Events>('/load_balancers/bad/events?limit=20');
    expect(events.some((e) => e.reason.includes(bind.keyName))).toBe(true);
    expect(await bind.dig(`bad.${bind.zone}`, 'A')).toEqual([]);
  });
});
