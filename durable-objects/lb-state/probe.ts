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
import type { ProbePreview, ProbeTarget } from '../../core/rpc/index.ts';

/**
 * Probes one origin with `monitor`; never throws, and settles within (retries + 1) × (timeout +
 * 250 ms) whatever the network does (the alarm that runs probes must always finish and re-arm).
 * A probe that cannot even be made (a header value with a newline, a method fetch refuses, an
 * address connect() rejects) is a failed probe: "probe could not be built: …". `now` is a clock
 * in ms (for rtt).
 */
export async function probeOrigin(monitor: Monitor, origin: Origin, now: () => number = Date.now): Promise<ProbeResult> {
  try {
    let result = await bounded(monitor, origin, now);
    for (let i = 0; i < monitor.retries && !result.ok; i++) result = await bounded(monitor, origin, now);
    return result;
  } catch (e) {
    return failed(`probe failed: ${messageOf(e)}`);
  }
}

/** What the monitor preview answers for one origin (admin API `POST /monitors/:id/preview`); stores nothing. */
export async function previewProbe(monitor: Monitor, target: ProbeTarget): Promise<ProbePreview> {
  const r = await probeOrigin(monitor, { name: target.name, address: target.address, port: target.port, weight: 1, enabled: true, drain: false, header: {} });
  return {
    name: target.name,
    address: target.address,
    port: target.port,
    healthy: r.ok,
    rtt: r.rtt,
    response_code: r.status || null,
    failure_reason: r.reason || null,
  };
}

/** probeOnce with a deadline of its own, in case an abort signal is not honoured. */
function bounded(monitor: Monitor, origin: Origin, now: () => number): Promise<ProbeResult> {
  const limitMs = monitor.timeout * 1000 + 250;
  const started = now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, rtt: now() - started, status: 0, reason: `timeout after ${monitor.timeout * 1000} ms` }), limitMs);
  });
  return Promise.race([probeOnce(monitor, origin, now), late]).finally(() => timer !== undefined && clearTimeout(timer));
}

async function probeOnce(monitor: Monitor, origin: Origin, now: () => number): Promise<ProbeResult> {
  const port = monitor.port || origin.port;
  const started = now();
  const timeoutMs = monitor.timeout * 1000;
  if (monitor.type === 'tcp') {
    let socket: Socket;
    try {
      socket = connect({ hostname: origin.address, port: port || 80 });
    } catch (e) {
      return failed(`probe could not be built: ${messageOf(e)}`);
    }
    socket.closed.catch(() => {}); // a refused connection also rejects `closed`: judged via `opened`
    const limit = deadline(timeoutMs);
    try {
      await Promise.race([socket.opened, limit.expired]);
      return { ok: true, rtt: now() - started, status: 0, reason: '' };
    } catch (e) {
      return { ok: false, rtt: now() - started, status: 0, reason: describe(e, timeoutMs) };
    } finally {
      limit.clear();
      socket.close().catch(() => {});
    }
  }
  let request: Request;
  try {
    request = buildRequest(monitor, origin, port);
  } catch (e) {
    return failed(`probe could not be built: ${messageOf(e)}`);
  }
  const limit = deadline(timeoutMs);
  try {
    const res = await fetch(request, { signal: limit.signal });
    const body = monitor.expected_body ? await readStart(res, 10240) : (await res.body?.cancel(), '');
    return judgeHttp(monitor, res.status, body, now() - started);
  } catch (e) {
    return { ok: false, rtt: now() - started, status: 0, reason: describe(e, timeoutMs) };
  } finally {
    limit.clear();
  }
}

/** The probe request of an http/https monitor; throws when the monitor's fields make no valid request. */
function buildRequest(monitor: Monitor, origin: Origin, port: number): Request {
  const host = origin.address.includes(':') ? `[${origin.address}]` : origin.address;
  const url = `${monitor.type}://${host}${port ? `:${port}` : ''}${monitor.path}`;
  const headers = new Headers();
  for (const [name, values] of Object.entries(monitor.header)) for (const v of values) headers.append(name, v);
  if (!headers.has('user-agent')) headers.set('user-agent', 'edge-lb-health-check/1');
  return new Request(url, { method: monitor.method, headers, redirect: monitor.follow_redirects ? 'follow' : 'manual' });
}

const failed = (reason: string): ProbeResult => ({ ok: false, rtt: 0, status: 0, reason });
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

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
  for (const c of chunks) (all.set(c, at), (at += c.byteLength));
  return new TextDecoder().decode(all.subarray(0, limit));
}

/**
 * A timeout that ends with the probe: `signal` aborts and `expired` rejects (TimeoutError) after
 * `ms`; `clear()` stops the timer, so no timer outlives a probe and keeps the object busy
 * (AbortSignal.timeout cannot be cleared).
 */
function deadline(ms: number): { signal: AbortSignal; expired: Promise<never>; clear(): void } {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new Error(`timeout after ${ms} ms`);
      e.name = 'TimeoutError';
      controller.abort(e);
      reject(e);
    }, ms);
  });
  expired.catch(() => {});
  return { signal: controller.signal, expired, clear: () => timer !== undefined && clearTimeout(timer) };
}

function describe(e: unknown, timeoutMs: number): string {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof Error && (e.name === 'TimeoutError' || /timeout/i.test(message))) return `timeout after ${timeoutMs} ms`;
  return `connection failed: ${message}`;
}
