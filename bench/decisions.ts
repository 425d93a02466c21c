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
