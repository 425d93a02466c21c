/**
 * `npm run bench` (DNS part): time and Cloudflare API requests to publish 1,000 DNS-only load
 * balancers after one config import. The real Worker under wrangler dev (bench/dns-entry.ts: LbState
 * reaching Cloudflare zones through the zone's DnsZoneWriter), a Cloudflare API contract server
 * (test/fixtures/cloudflare-api.ts, Free plan batch limit 200) as the zone's `api_base`. One
 * `PUT /admin/v1/config`: one zone, 1,000 pools of 2 or 3 address origins (no monitor: every origin
 * usable), 1,000 load balancers `lb<i>.example.com` (`proxied: false`, `ttl: 60`, `dns: { zone }`).
 * The import syncs every LbState, whose DNS job reads, plans and applies its name.
 *
 * Measured from the import's start: when every name holds exactly its origins' A records in the
 * contract server, and the requests it counted (lists, batches) by then and 10 s later (a quiet
 * period shows nothing more is sent). Cloudflare's limit: 1,200 requests per 5 minutes per user
 * (https://developers.cloudflare.com/fundamentals/api/reference/limits/).
 *
 * BENCH_DNS_MODES (default "writer,direct"): `direct` runs the same with LbState calling the API
 * itself (the tree's wiring before the writer), for comparison. BENCH_DNS_LBS (default 1000).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorker, putConfig } from './lib.ts';
import { startWorkerd } from './workerd.ts';
import { startCloudflareApi } from '../test/fixtures/cloudflare-api.ts';

const MODES = (process.env.BENCH_DNS_MODES ?? 'writer,direct').split(',');
const LBS = Number(process.env.BENCH_DNS_LBS ?? 1000);
const TOKEN = 'bench-admin-token';
const CF_TOKEN = 'bench-cf-token';
const LIMIT = 1200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// bench/dns-entry.ts bundled once (as `wrangler deploy --dry-run` would); each mode starts on fresh Durable Object storage.
const DIR = join('.bench', 'dns');
bundleWorker(join(DIR, 'lb'), 'bench/dns-entry.ts');

async function run(mode: string) {
  const api = await startCloudflareApi({ token: CF_TOKEN });
  rmSync(join(DIR, 'do'), { recursive: true, force: true });
  const worker = await startWorkerd(DIR, { token: TOKEN, compatibilityDate: '2026-11-01', vars: { CF_BENCH_TOKEN: CF_TOKEN, BENCH_DNS_MODE: mode } });
  const url = worker.lbUrl;
  try {
    const pools = Array.from({ length: LBS }, (_, i) => ({
      id: `p${i}`,
      name: `p${i}`,
      origins: Array.from({ length: i % 2 ? 3 : 2 }, (_, j) => ({ name: `o${j}`, address: `10.${i >> 8}.${i & 255}.${j + 1}` })),
    }));
    const expected = new Map(pools.map((p, i) => [`lb${i}.${api.zoneName}`, p.origins.length]));
    const config = {
      dns_zones: [
        { id: 'zone', name: api.zoneName, provider: { type: 'cloudflare', zone_id: api.zoneId, api_token_secret: 'CF_BENCH_TOKEN', api_base: api.url } },
      ],
      pools,
      load_balancers: pools.map((p, i) => ({
        id: `lb${i}`,
        name: `lb${i}.${api.zoneName}`,
        proxied: false,
        ttl: 60,
        default_pools: [p.id],
        fallback_pool: p.id,
        dns: { zone: 'zone' },
      })),
    };
    const started = Date.now();
    await putConfig(url, TOKEN, config, { host: '127.0.0.1' });
    const imported = Date.now() - started;
    const published = () => {
      const at = new Map<string, number>();
      for (const r of api.records()) if (r.comment === `edge-lb:edge-lb:${r.name.split('.')[0]}`) at.set(r.name, (at.get(r.name) ?? 0) + 1);
      return [...expected].filter(([name, n]) => at.get(name) === n).length;
    };
    let done = 0;
    for (const deadline = started + 300_000; Date.now() < deadline; await sleep(100)) if ((done = published()) === LBS) break;
    const elapsed = Date.now() - started;
    const atDone = { ...api.calls };
    await sleep(10_000);
    const total = api.calls.list + api.calls.batch + api.calls.other;
    const figures = {
      mode,
      loadBalancers: LBS,
      records: [...expected.values()].reduce((a, b) => a + b, 0),
      importMs: imported,
      publishedNames: done,
      allPublishedMs: done === LBS ? elapsed : null,
      requestsWhenPublished: atDone,
      requestsAfter10sQuiet: { ...api.calls },
      requestsTotal: total,
      withinCloudflareLimit: total <= LIMIT && elapsed < 300_000,
    };
    console.log(JSON.stringify(figures));
    return figures;
  } finally {
    worker.stop();
    await api.close();
  }
}

for (const mode of MODES) await run(mode);
