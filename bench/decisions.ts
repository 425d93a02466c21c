/**
 * `npm run bench` (third part): routing decisions per second for each origin steering policy at
 * 10, 100 and 1,000 origins, measured in Node (V8, as in workerd) on the pure core: one decision
 * is planRoute + its first candidate, with health filtering on. Table builds (Maglev) are
 * measured separately. Target: under 2 µs per decision at 1,000 origins.
 */
import { emptyDocument, importDocument } from '../core/config/index.ts';
import { compileSnapshot, planRoute } from '../core/route/index.ts';
import { LoadTracker } from '../core/steer/load.ts';
import { buildMaglev } from '../core/steer/policies.ts';
import { seeded } from '../core/steer/seeded.ts';
import { splitUrl } from '../core/forward/index.ts';
import { RuleRequest } from '../core/rules/index.ts';
import { median } from './lib.ts';
import { aclMix, ruleMix } from './rule-sets.ts';

const POLICIES = [
  ['random', { policy: 'random' }],
  ['round_robin', { policy: 'round_robin' }],
  ['hash (maglev, client IP)', { policy: 'hash', hash_algorithm: 'maglev' }],
  ['hash (rendezvous, client IP)', { policy: 'hash', hash_algorithm: 'rendezvous' }],
  ['least_outstanding_requests', { policy: 'least_outstanding_requests' }],
  ['least_response_time', { policy: 'least_response_time' }],
  ['first', { policy: 'first' }],
] as const;
const SIZES = [10, 100, 1000];
const MS = Number(process.env.BENCH_DECISION_MS ?? 300);

function snapshotFor(n: number, steering: object) {
  const out = importDocument(
    emptyDocument(),
    {
      pools: [
        {
          id: 'p',
          name: 'p',
          origin_steering: steering,
          origins: Array.from({ length: n }, (_, i) => ({ name: `o${i}`, address: `10.0.${i >> 8}.${i & 255}`, port: 80, weight: 0.25 + (i % 4) * 0.25 })),
        },
      ],
      load_balancers: [{ id: 'lb', name: 'app.bench', default_pools: ['p'], fallback_pool: 'p' }],
    },
    { newId: () => 'x', now: () => '' },
  );
  if (!out.ok) throw new Error(JSON.stringify(out.errors));
  return compileSnapshot(out.value, 1);
}

const rows: string[] = [];
for (const [label, steering] of POLICIES) {
  const cells: string[] = [];
  for (const n of SIZES) {
    const snap = snapshotFor(n, steering);
    const lb = snap.lookup('app.bench')!;
    const random = seeded(7);
    const load = new LoadTracker();
    const ips = Array.from({ length: 1024 }, (_, i) => `198.51.${i >> 8}.${i & 255}`);
    let k = 0;
    const facts = {
      get clientIp() {
        return ips[k & 1023];
      },
    };
    const usable = (_: unknown, i: number) => i % 97 !== 3; // some origins down
    const input = { random, usable, facts, stats: (p: { id: string; origins: unknown[] }) => load.stats(p.id, p.origins.length) };
    for (let w = 0; w < 20000; w++, k++) planRoute(snap, lb, input); // warm up the JIT
    let count = 0;
    const end = performance.now() + MS;
    const t0 = performance.now();
    while (performance.now() < end) {
      for (let j = 0; j < 1000; j++, k++) planRoute(snap, lb, input)!.first;
      count += 1000;
    }
    const us = ((performance.now() - t0) * 1000) / count;
    cells.push(`${us.toFixed(2)} µs`);
  }
  rows.push(`| ${label} | ${cells.join(' | ')} |`);
}
console.log(`\nRouting decisions (planRoute + first candidate, health filter on; ${new Date().toISOString().slice(0, 10)}, node ${process.version})\n`);
console.log('| origin steering | 10 origins | 100 origins | 1,000 origins |');
console.log('|---|---:|---:|---:|');
for (const r of rows) console.log(r);

const builds = SIZES.map((n) => {
  const w = Array.from({ length: n }, (_, i) => 0.25 + (i % 4) * 0.25);
  const names = w.map((_, i) => `o${i}`);
  const t0 = performance.now();
  buildMaglev(w, names, 65537);
  return `${(performance.now() - t0).toFixed(1)} ms`;
});
console.log(`\nMaglev table build (65,537 entries, once per config version): ${SIZES.map((n, i) => `${n} origins ${builds[i]}`).join(', ')}`);

// --- Rules and ACLs (issue #12): one proxied request's whole decision on a load balancer with
// 100 rules and 100 ACL entries (bench/rule-sets.ts: the mix operators write; none decides, so
// every one is paid for unless an index rules it out). One decision: the request view, the ACL
// evaluation, the rules and planRoute with the load balancer they produce, as worker/proxy runs
// them. The median is over batches of 1,000 decisions (a clock read per decision would cost more
// than a decision).
{
  const build = (rules: object[], acls: object[]) => {
    const out = importDocument(
      emptyDocument(),
      {
        pools: [{ id: 'p', name: 'p', origins: Array.from({ length: 10 }, (_, i) => ({ name: `o${i}`, address: `10.0.0.${i + 1}`, port: 80 })) }],
        load_balancers: [{ id: 'lb', name: 'app.bench', default_pools: ['p'], fallback_pool: 'p', rules, acls }],
      },
      { newId: () => 'x', now: () => '' },
    );
    if (!out.ok) throw new Error(JSON.stringify(out.errors));
    return compileSnapshot(out.value, 1);
  };
  // Requests that decide nothing: varied paths, methods, clients and headers.
  const requests = Array.from({ length: 256 }, (_, i) => {
    const headers = new Headers({ 'user-agent': `Mozilla/5.0 (bench ${i})`, accept: '*/*' });
    if (i % 4 === 0) headers.set('cookie', `session=${i}; theme=dark`);
    if (i % 8 === 1) headers.set('x-canary-4', 'no');
    return {
      url: splitUrl(`https://app.bench/${['', 'api/items', 'static/app.js', 'v2/rpc/x', 'login'][i % 5]}${i % 3 ? '' : `?page=${i}`}`),
      method: i % 7 ? 'GET' : 'POST',
      headers,
      clientIp: i % 5 === 4 ? `2001:db8:ffff::${i.toString(16)}` : `192.0.2.${i}`,
      place: { country: ['US', 'GB', 'JP', 'BR'][i % 4], continent: ['NA', 'EU', 'AS', 'SA'][i % 4] },
      loadBalancer: 'app.bench',
    };
  });
  // Requests as a browser sends them: a full User-Agent, ~200 bytes of cookies (analytics,
  // session, consent), a query, the usual Accept headers. `contains` on cookie, query and
  // User-Agent must search these; the bare requests above mostly have little to search.
  const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
  const browser = Array.from({ length: 256 }, (_, i) => {
    const cookie =
      `_ga=GA1.2.${1_700_000_000 + i * 7919}.1732000000; _gid=GA1.2.${900_000 + i}.1732100000; ` +
      `session=${(i * 2_654_435_761).toString(16).padStart(12, '0')}a1b2c3d4e5f6a7b8c9d0; theme=dark; ` +
      `consent=necessary%2Canalytics%2Cmarketing; lang=en-US; cart=${i % 9}; _fbp=fb.1.1732000000000.${i * 31}`;
    const headers = new Headers({
      'user-agent': UA,
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
      'accept-language': 'en-US,en;q=0.9',
      'accept-encoding': 'gzip, deflate, br',
      cookie,
      referer: 'https://app.bench/',
    });
    return {
      url: splitUrl(`https://app.bench/${['products/42', 'api/items', 'search', 'v2/rpc/x', 'cart'][i % 5]}?utm_source=newsletter&utm_medium=email&page=${i}`),
      method: i % 7 ? 'GET' : 'POST',
      headers,
      clientIp: i % 5 === 4 ? `2001:db8:ffff::${i.toString(16)}` : `192.0.2.${i}`,
      place: { country: ['US', 'GB', 'JP', 'BR'][i % 4], continent: ['NA', 'EU', 'AS', 'SA'][i % 4] },
      loadBalancer: 'app.bench',
    };
  });
  const BATCH = 1000;
  const decide = (snap: ReturnType<typeof build>, label: string, pool = requests) => {
    const lb = snap.lookup('app.bench')!;
    const acls = snap.acls?.get(lb.id);
    const rules = snap.rules?.get(lb.id);
    const input = { random: seeded(11), usable: () => true, facts: { clientIp: '192.0.2.1' } };
    let k = 0;
    let sink = 0;
    const once = () => {
      const view = new RuleRequest(pool[k++ & 255]!);
      if (acls?.evaluate(view)) sink++;
      const ruled = rules?.apply(view);
      if (ruled?.fixed) return;
      sink += planRoute(snap, ruled?.lb ?? lb, input)!.first.originIndex;
    };
    for (let w = 0; w < 50_000; w++) once(); // warm up the JIT
    const perBatch: number[] = [];
    const end = performance.now() + MS * 2;
    while (performance.now() < end) {
      const t0 = performance.now();
      for (let j = 0; j < BATCH; j++) once();
      perBatch.push(((performance.now() - t0) * 1000) / BATCH);
    }
    if (sink < 0) console.log(sink);
    return `| ${label} | ${median(perBatch).toFixed(2)} µs | ${perBatch.length * BATCH} |`;
  };
  const lines = [
    decide(build([], []), 'no rules, no ACLs'),
    decide(build(ruleMix(100, 'p'), []), '100 rules'),
    decide(build([], aclMix(100)), '100 ACL entries'),
    decide(build(ruleMix(100, 'p'), aclMix(100)), '100 rules + 100 ACL entries'),
    decide(build([], []), 'browser request: no rules, no ACLs', browser),
    decide(build(ruleMix(100, 'p'), []), 'browser request: 100 rules', browser),
    decide(build([], aclMix(100)), 'browser request: 100 ACL entries', browser),
    decide(build(ruleMix(100, 'p'), aclMix(100)), 'browser request: 100 rules + 100 ACL entries', browser),
  ];
  console.log(
    `\nRules and ACLs: one request's decision (request view, ACLs, rules, planRoute over 10 origins; median of batches of ${BATCH}). Target: under 2 µs with 100 + 100.\n`,
  );
  console.log('| load balancer | per decision | decisions timed |');
  console.log('|---|---:|---:|');
  for (const l of lines) console.log(l);
}
