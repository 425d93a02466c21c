/**
 * DNS-over-HTTPS answers per second: the load balancer's /dns-query (parse, snapshot, health,
 * route, encode) beside a Worker that returns one fixed DNS answer, both in one plain workerd
 * process (as bench/run.ts: no wrangler or Miniflare layers), scenarios interleaved over rounds,
 * medians reported with the per-round ratio (target >= 0.8).
 *
 * The query: GET /dns-query?dns=<base64url> for an A record of a DNS-only load balancer whose
 * pool has three weighted origins (random origin steering), as RFC 8484 clients send it (ID 0).
 *
 * Beside answers/s, workerd's CPU time per answer (utime + stime from /proc, all threads, in µs):
 * on a shared machine the load generator may not keep workerd busy, and then CPU per answer is the
 * steadier figure (its ratio is what answers/s would show with workerd saturated).
 *
 * Environment: BENCH_SECONDS (per scenario and round, default 5), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (default 32); BENCH_PROFILE=1 prints a CPU profile of the load balancer's DoH instead.
 */
import * as dnsPacket from '@dnsquery/dns-packet';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { startWorkerd } from './workerd.ts';
import { join } from 'node:path';
import { bundleWorker, load, median, processCpuMs, type LoadResult, putConfig } from './lib.ts';
import { profileWorker } from './profile.ts';
import { freePort } from '../scripts/lib/wrangler-dev.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const TOKEN = 'bench-token';
const NAME = 'dns.bench';
const dir = join('.bench', 'doh');

const query = dnsPacket.encode({ type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: NAME }] });
const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');
// The answer the load balancer gives when it picks origin a: what the fixed Worker always returns.
const fixed = dnsPacket.encode({
  type: 'response',
  id: 0,
  flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED,
  questions: [{ type: 'A', name: NAME, class: 'IN' }],
  answers: [{ type: 'A', name: NAME, ttl: 30, class: 'IN', data: '192.0.2.1' }],
});

bundleWorker(join(dir, 'lb'));
mkdirSync(join(dir, 'do'), { recursive: true });
writeFileSync(
  join(dir, 'fixed.js'),
  `// The baseline: a Worker that answers every request with one fixed DNS message.
const ANSWER = Uint8Array.from(atob(${JSON.stringify(Buffer.from(fixed).toString('base64'))}), (c) => c.charCodeAt(0));
export default {
  fetch() {
    return new Response(ANSWER, { headers: { 'content-type': 'application/dns-message', 'cache-control': 'max-age=30' } });
  },
};
`,
);
// Two cores: workerd on CPU 1, this load generator on CPU 0 (as bench/run.ts).
if (existsSync('/usr/bin/taskset')) spawnSync('/usr/bin/taskset', ['-pc', '0', String(process.pid)]);
const inspectorPort = process.env.BENCH_PROFILE === '1' ? await freePort() : undefined;
const workerd = await startWorkerd(dir, {
  token: TOKEN,
  compatibilityDate: '2026-11-01',
  baseline: join(dir, 'fixed.js'),
  vars: { DOH_HOSTS: '127.0.0.1' },
  inspectorPort,
  cpu: 1,
});
const { lbUrl, passUrl: fixedUrl } = workerd;
class Profiled extends Error {}

const cpuMs = () => processCpuMs(workerd.process.pid!);
type Measured = LoadResult & { cpuUs: number };

try {
  await putConfig(lbUrl, TOKEN, {
    pools: [{ id: 'p', name: 'p', origins: ['a', 'b', 'c'].map((name, i) => ({ name, address: `192.0.2.${i + 1}`, weight: [1, 0.5, 0.5][i] })) }],
    load_balancers: [{ name: NAME, proxied: false, ttl: 30, default_pools: ['p'], fallback_pool: 'p' }],
  });
  const path = `/dns-query?dns=${b64url(query)}`;
  const check = dnsPacket.decode(new Uint8Array(await (await fetch(`${lbUrl}${path}`)).arrayBuffer()));
  if (check.rcode !== 'NOERROR' || check.answers?.[0]?.type !== 'A') throw new Error(`unexpected answer: ${JSON.stringify(check)}`);

  if (inspectorPort) {
    const entries = await profileWorker(inspectorPort, 'lb', () => load(`${lbUrl}${path}`, undefined, SECONDS, CONNECTIONS));
    console.log('self time of the load balancer Worker answering DoH:');
    for (const e of entries.slice(0, 30)) console.log(`${e.percent.toFixed(1).padStart(6)}%  ${e.name}`);
  }
  const scenarios: [name: string, url: string][] = inspectorPort
    ? []
    : [
        ['fixed-answer Worker', `${fixedUrl}${path}`],
        ['load balancer DoH', `${lbUrl}${path}`],
      ];
  const runs = new Map<string, Measured[]>(scenarios.map(([n]) => [n, []]));
  for (const [, url] of scenarios) await load(url, undefined, 4, CONNECTIONS); // warm-up (JIT)
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, url] of scenarios) {
      const cpuBefore = cpuMs();
      const r = await load(url, undefined, SECONDS, CONNECTIONS);
      const cpuUs = ((cpuMs() - cpuBefore) * 1000) / (r.rps * SECONDS);
      if (r.errors || r.non2xx) throw new Error(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
      runs.get(name)!.push({ ...r, cpuUs });
      console.error(`round ${round + 1} ${name}: ${r.rps.toFixed(0)} answers/s p50 ${r.p50} ms p99 ${r.p99} ms, workerd CPU ${cpuUs.toFixed(1)} µs/answer`);
    }
  }
  if (!scenarios.length) throw new Profiled();
  const summary = scenarios.map(([name]) => {
    const rs = runs.get(name)!;
    return {
      name,
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      cpuUs: median(rs.map((r) => r.cpuUs)),
    };
  });
  console.log(`\n${ROUNDS} rounds x ${SECONDS} s, ${CONNECTIONS} connections, medians; node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log('| scenario | answers/s | p50 ms | p99 ms | vs fixed answer | workerd CPU µs/answer |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const s of summary)
    console.log(`| ${s.name} | ${s.rps.toFixed(0)} | ${s.p50} | ${s.p99} | ${(s.rps / summary[0]!.rps).toFixed(3)} | ${s.cpuUs.toFixed(1)} |`);
  const lb = runs.get('load balancer DoH')!;
  const ratios = runs.get('fixed-answer Worker')!.map((f, i) => lb[i]!.rps / f.rps);
  const ratio = median(ratios);
  const cpuRatios = runs.get('fixed-answer Worker')!.map((f, i) => f.cpuUs / lb[i]!.cpuUs);
  console.log(`\nDoH / fixed answer, per round: ${ratios.map((r) => r.toFixed(3)).join(', ')}`);
  console.log(`fixed answer's CPU per answer / DoH's, per round: ${cpuRatios.map((r) => r.toFixed(3)).join(', ')} (median ${median(cpuRatios).toFixed(3)})`);
  console.log(`median of per-round ratios = ${ratio.toFixed(3)} (target >= 0.80): ${ratio >= 0.8 ? 'met' : 'NOT met'}`);
} catch (e) {
  if (!(e instanceof Profiled)) throw e;
} finally {
  workerd.stop();
}
