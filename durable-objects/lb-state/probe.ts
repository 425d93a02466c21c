/**
 * Active probes, run by LbState's alarm: http/https through fetch, tcp through `connect()` from
 * cloudflare:sockets. `retries` extra attempts are made at once on failure (Cloudflare's meaning).
 *
 * Workers cannot skip TLS verification, so `allow_insecure` is stored but an https probe of an
 * origin with an invalid certificate fails; `follow_redirects: false` judges the 3xx itself.
 */
import { connect } from 'cloudflare:sockets';
import { judgeHttp, type ProbeResult } from '../../core/health/index.ts';
import type { Monitor, Origin } from '../../core/config/index.ts';

/**
 * Probes one origin with `monitor`; never throws, and settles within (retries + 1) × (timeout +
 * 250 ms) whatever the network does (the alarm that runs probes must always finish and re-arm).
 * `now` is a clock in ms (for rtt).
 */
export async function probeOrigin(monitor: Monitor, origin: Origin, now: () => number = Date.now): Promise<ProbeResult> {
  let result = await bounded(monitor, origin, now);
  for (let i = 0; i < monitor.retries && !result.ok; i++) result = await bounded(monitor, origin, now);
  return result;
}

/** probeOnce with a deadline of its own, in case an abort signal is not honoured. */
function bounded(monitor: Monitor, origin: Origin, now: () => number): Promise<ProbeResult> {
  const limitMs = monitor.timeout * 1000 + 250;
  const started = now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, rtt: now() - started, status: 0, reason: `timeout after ${monitor.timeout * 1000} ms` }), limitMs);
  });
  return Promise.race([probeOnce(monitor, origin, now), late]).finally(() => clearTimeout(timer));
}

async function probeOnce(monitor: Monitor, origin: Origin, now: () => number): Promise<ProbeResult> {
  const port = monitor.port || origin.port;
  const started = now();
  const timeoutMs = monitor.timeout * 1000;
  if (monitor.type === 'tcp') {
    const socket = connect({ hostname: origin.address, port: port || 80 });
    socket.closed.catch(() => {}); // a refused connection also rejects `closed`: judged via `opened`
    try {
      await Promise.race([socket.opened, rejectAfter(timeoutMs)]);
      return { ok: true, rtt: now() - started, status: 0, reason: '' };
    } catch (e) {
      return { ok: false, rtt: now() - started, status: 0, reason: describe(e, timeoutMs) };
    } finally {
      socket.close().catch(() => {});
    }
  }
  const host = origin.address.includes(':') ? `[${origin.address}]` : origin.address;
  const url = `${monitor.type}://${host}${port ? `:${port}` : ''}${monitor.path}`;
  const headers = new Headers();
  for (const [name, values] of Object.entries(monitor.header)) for (const v of values) headers.append(name, v);
  if (!headers.has('user-agent')) headers.set('user-agent', 'edge-lb-health-check/1');
  try {
    const res = await fetch(url, {
      method: monitor.method, headers, redirect: monitor.follow_redirects ? 'follow' : 'manual', signal: AbortSignal.timeout(timeoutMs),
    });
    const body = monitor.expected_body ? await readStart(res, 10240) : (await res.body?.cancel(), '');
    return judgeHttp(monitor, res.status, body, now() - started);
  } catch (e) {
    return { ok: false, rtt: now() - started, status: 0, reason: describe(e, timeoutMs) };
  }
}

/** The first `limit` bytes of a body, decoded as UTF-8; the rest is not read. */
async function readStart(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < limit) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  reader.cancel().catch(() => {});
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) all.set(c, at), (at += c.byteLength);
  return new TextDecoder().decode(all.subarray(0, limit));
}

function rejectAfter(ms: number): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout after ${ms} ms`)), ms));
}

function describe(e: unknown, timeoutMs: number): string {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof Error && (e.name === 'TimeoutError' || /timeout/i.test(message))) return `timeout after ${timeoutMs} ms`;
  return `connection failed: ${message}`;
}
