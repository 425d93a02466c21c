/**
 * Hostile-input figure: a flood of unique, large header-affinity session keys. One plain
 * `workerd serve` (bench/workerd.ts) runs the wrangler bundle; a load balancer with
 * `session_affinity: 'header'` on `x-session` gets FLOOD_REQUESTS (default 10,000) requests, each
 * with a unique FLOOD_HEADER_KB (default 30) KB `x-session` value, FLOOD_CONCURRENCY (default 16)
 * at a time. Reports workerd's RSS (VmRSS, /proc) before, at peak and after, and the LbState
 * SQLite storage on disk (every file under the workerd dir's `do/`, split by namespace), plus the
 * affinity table's row count read from the SQLite file (node:sqlite, read-only).
 *
 * Design bounds checked: a session is stored as its SHA-256 (43 chars), ~100 bytes a row, at most
 * 100,000 rows per load balancer; each isolate caches at most 10,000 pins.
 *
 * Run: `node_modules/.bin/node bench/flood.ts` (Node >= 22; the system node may be older).
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { bundleWorker, processRssKb, startOriginProcess, putConfig } from './lib.ts';
import { startWorkerd } from './workerd.ts';

const REQUESTS = Number(process.env.FLOOD_REQUESTS ?? 10_000);
const CONCURRENCY = Number(process.env.FLOOD_CONCURRENCY ?? 16);
const HEADER_BYTES = Number(process.env.FLOOD_HEADER_KB ?? 30) * 1024;
const TOKEN = 'flood-token';
const HOST = 'flood.bench';
const DIR = '.bench-flood';
const MB = 1024 * 1024;

rmSync(DIR, { recursive: true, force: true });
const outdir = join(DIR, 'lb');
bundleWorker(outdir);

const rssBytes = (pid: number) => processRssKb(pid) * 1024;
/** Every file under `dir`, with sizes. */
function files(dir: string): { path: string; size: number }[] {
  const out: { path: string; size: number }[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...files(p));
    else out.push({ path: p, size: statSync(p).size });
  }
  return out;
}
const doDir = join(DIR, 'do');
/** Bytes per namespace directory (workerd names each by the namespace's unique key). */
function storage(): Map<string, number> {
  const by = new Map<string, number>();
  for (const f of files(doDir)) {
    const ns = f.path.slice(doDir.length + 1).split('/')[0]!;
    by.set(ns, (by.get(ns) ?? 0) + f.size);
  }
  return by;
}

// Node's HTTP server refuses request headers over 16 KB (431) by default; the origin must accept
// the 30 KB values, or no session is ever pinned (a pin is written only for an answer below 400).
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --max-http-header-size=${HEADER_BYTES + 16 * 1024}`.trim();
const origin = await startOriginProcess('flood-origin');
const workerd = await startWorkerd(DIR, { originHost: `127.0.0.1:${origin.port}`, token: TOKEN, compatibilityDate: '2026-11-01' });
const pid = workerd.process.pid!;
const lbPort = Number(new URL(workerd.lbUrl).port);

try {
  await putConfig(workerd.lbUrl, TOKEN, {
    pools: [{ id: 'p', name: 'p', origins: ['a', 'b', 'c'].map((name) => ({ name, address: '127.0.0.1', port: origin.port })) }],
    load_balancers: [
      {
        id: 'lb',
        name: HOST,
        default_pools: ['p'],
        fallback_pool: 'p',
        session_affinity: 'header',
        session_affinity_attributes: { headers: ['x-session'] },
      },
    ],
  });

  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const send = (session: string) =>
    new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port: lbPort, path: '/', agent, headers: { host: HOST, 'x-session': session } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      });
      req.on('error', () => resolve(0));
      req.setTimeout(30_000, () => req.destroy());
      req.end();
    });
  // Warm-up: a few ordinary sessions, so "before" is a warm isolate with its config loaded.
  for (let i = 0; i < 50; i++) await send(`warm-${i}`);
  await new Promise((r) => setTimeout(r, 2000));
  const rssBefore = rssBytes(pid);
  const storageBefore = storage();

  // Unique 30 KB values: a random prefix per request, padded with letters.
  const pad = 'x'.repeat(HEADER_BYTES);
  const statuses = new Map<number, number>();
  let next = 0;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 100);
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        const session = `${i.toString(36)}-${Math.random().toString(36).slice(2)}-${pad}`.slice(0, HEADER_BYTES);
        const status = await send(session);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  const rssEnd = rssBytes(pid);
  // Background affinity writes (waitUntil) settle; then measure again.
  await new Promise((r) => setTimeout(r, 5000));
  clearInterval(sampler);
  const rssAfter = rssBytes(pid);
  const storageAfter = storage();
  agent.destroy();

  // Row count of the affinity table in each SQLite file (read-only; workerd keeps it open in WAL mode).
  const rows: string[] = [];
  try {
    const { DatabaseSync } = await import('node:sqlite');
    for (const f of files(doDir).filter((f) => f.path.endsWith('.sqlite'))) {
      const db = new DatabaseSync(f.path, { readOnly: true });
      const tables = db
        .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite_%'`)
        .all() as { name: string }[];
      const counts = tables.map(({ name }) => `${name}=${(db.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n}`);
      const affinity = tables.find((t) => /affinity|session|pin/i.test(t.name));
      let keyLen = '';
      if (affinity) {
        const cols = db.prepare(`PRAGMA table_info("${affinity.name}")`).all() as { name: string }[];
        const c = cols[0]!.name;
        const r = db.prepare(`SELECT max(length("${c}")) AS m FROM "${affinity.name}"`).get() as { m: number };
        keyLen = ` (max length of ${affinity.name}.${c}: ${r.m})`;
      }
      rows.push(`${f.path.slice(doDir.length + 1)}: ${counts.join(', ')}${keyLen}`);
      db.close();
    }
  } catch (e) {
    rows.push(`(could not read the SQLite files: ${(e as Error).message})`);
  }

  const fmt = (b: number) => `${(b / MB).toFixed(1)} MB`;
  const ok = statuses.get(200) ?? 0;
  console.log(
    `\nFlood (plain workerd, ${new Date().toISOString().slice(0, 10)}, node ${process.version}): ${REQUESTS} requests, each a unique ${HEADER_BYTES / 1024} KB x-session, ${CONCURRENCY} at a time, ${elapsed.toFixed(1)} s (${(REQUESTS / elapsed).toFixed(0)} req/s)\n`,
  );
  console.log(`statuses: ${[...statuses].map(([s, n]) => `${s || 'error'}: ${n}`).join(', ')}`);
  console.log('| figure | before | after | growth |');
  console.log('|---|---:|---:|---:|');
  console.log(`| workerd RSS (VmRSS) | ${fmt(rssBefore)} | ${fmt(rssAfter)} (peak ${fmt(peak)}, at end ${fmt(rssEnd)}) | ${fmt(rssAfter - rssBefore)} |`);
  for (const ns of new Set([...storageBefore.keys(), ...storageAfter.keys()])) {
    const [b, a] = [storageBefore.get(ns) ?? 0, storageAfter.get(ns) ?? 0];
    console.log(`| storage ${ns} (all files) | ${fmt(b)} | ${fmt(a)} | ${fmt(a - b)} (${((a - b) / Math.max(1, ok)).toFixed(0)} B per request) |`);
  }
  console.log('\nSQLite files after the flood:');
  for (const f of files(doDir)) console.log(`  ${f.path.slice(doDir.length + 1)}: ${f.size} bytes`);
  for (const r of rows) console.log(`  ${r}`);
} finally {
  workerd.stop();
  origin.stop();
}
