/**
 * Origin health as a pure state machine, fed by active probes and by real traffic.
 *
 * - Active: HAProxy's rise/fall, under Cloudflare's names `consecutive_up` / `consecutive_down`.
 *   An origin starts `unknown` and counts as usable until a verdict (Cloudflare treats a new
 *   origin as healthy until its first failures).
 * - Passive: Envoy's outlier detection. `consecutive_5xx` 5xx answers or
 *   `consecutive_gateway_failure` connection errors/timeouts/502-504 in a row eject the origin for
 *   `base_ejection_time × times ejected` (seconds), capped by `max_ejection_time`, never more than
 *   `max_ejection_percent` of a pool. As in Envoy, the multiplier decays while the origin stays in
 *   rotation: one step per `base_ejection_time` since its last ejection ended.
 *
 * usable = enabled && healthy-or-unknown && not ejected (ARCHITECTURE.md). Times are epoch ms.
 */
import type { Monitor } from '../config/index.ts';

export type Verdict = 'unknown' | 'healthy' | 'unhealthy';

export interface OriginHealth {
  verdict: Verdict;
  /** Consecutive passing / failing probes, reset by the opposite result. */
  passes: number;
  failures: number;
  /** When the verdict last changed (epoch ms), 0 = never. */
  changedAt: number;
  /** The last probe: round-trip time (ms), HTTP status (0 = none), why it failed ("" = it passed). */
  rtt: number;
  responseCode: number;
  failureReason: string;
  lastCheckAt: number;
  /** Passive: consecutive 5xx and gateway failures seen by the edge. */
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  /** Ejected until this time (epoch ms; 0 = never; a past time = the last ejection's end), and the ejection multiplier. */
  ejectedUntil: number;
  timesEjected: number;
}

export const NEW_ORIGIN: OriginHealth = {
  verdict: 'unknown',
  passes: 0,
  failures: 0,
  changedAt: 0,
  rtt: 0,
  responseCode: 0,
  failureReason: '',
  lastCheckAt: 0,
  consecutive5xx: 0,
  consecutiveGatewayFailure: 0,
  ejectedUntil: 0,
  timesEjected: 0,
};

/** A health transition, the one thing later modules (DNS failover, notifications) subscribe to. */
export interface HealthEvent {
  at: number;
  poolId: string;
  origin: string;
  from: string;
  to: string;
  reason: string;
}

/** What one probe saw. `status` 0 = no HTTP answer (connection error, timeout, tcp monitor). */
export interface ProbeResult {
  ok: boolean;
  rtt: number;
  status: number;
  reason: string;
}

/** Whether `status` is in `expected_codes` ("200", "2xx", "200,301,3xx"). */
export function expectedCode(expected: string, status: number): boolean {
  return expected.split(',').some((code) => {
    const c = code.trim().toLowerCase();
    return c.endsWith('xx') ? Math.floor(status / 100) === Number(c[0]) : Number(c) === status;
  });
}

/** Judges an HTTP probe answer against the monitor (expected_codes, expected_body in the first 10 KB, case-insensitive). */
export function judgeHttp(monitor: Pick<Monitor, 'expected_codes' | 'expected_body'>, status: number, bodyStart: string, rtt: number): ProbeResult {
  if (!expectedCode(monitor.expected_codes, status)) {
    return { ok: false, rtt, status, reason: `HTTP ${status}, expected ${monitor.expected_codes}` };
  }
  if (monitor.expected_body && !bodyStart.slice(0, 10240).toLowerCase().includes(monitor.expected_body.toLowerCase())) {
    return { ok: false, rtt, status, reason: 'response body does not contain expected_body' };
  }
  return { ok: true, rtt, status, reason: '' };
}

/** Applies one probe result (after the monitor's immediate retries). */
export function applyProbe(
  h: OriginHealth,
  r: ProbeResult,
  monitor: Pick<Monitor, 'consecutive_up' | 'consecutive_down'>,
  now: number,
): { health: OriginHealth; change?: { from: Verdict; to: Verdict; reason: string } } {
  const passes = r.ok ? h.passes + 1 : 0;
  const failures = r.ok ? 0 : h.failures + 1;
  let verdict = h.verdict;
  if (r.ok && h.verdict !== 'healthy' && passes >= monitor.consecutive_up) verdict = 'healthy';
  if (!r.ok && h.verdict !== 'unhealthy' && failures >= monitor.consecutive_down) verdict = 'unhealthy';
  const health: OriginHealth = {
    ...h,
    passes,
    failures,
    verdict,
    rtt: r.rtt,
    responseCode: r.status,
    failureReason: r.reason,
    lastCheckAt: now,
    changedAt: verdict !== h.verdict ? now : h.changedAt,
  };
  if (verdict === h.verdict) return { health };
  return { health, change: { from: h.verdict, to: verdict, reason: r.ok ? `${passes} probes passed` : r.reason } };
}

/** Envoy outlier detection settings of a pool (our extension of Cloudflare's pool). Times in seconds. */
export interface OutlierDetection {
  consecutive_5xx: number;
  consecutive_gateway_failure: number;
  base_ejection_time: number;
  /** Envoy's cap on one ejection (s). */
  max_ejection_time: number;
  max_ejection_percent: number;
}

/** Ejection time in ms for the `times`-th ejection in a row: base × times, at most max_ejection_time (Envoy). */
export function ejectionMs(od: Pick<OutlierDetection, 'base_ejection_time' | 'max_ejection_time'>, times: number): number {
  return Math.min(od.base_ejection_time * times, od.max_ejection_time) * 1000;
}

/** The ejection multiplier after time in rotation: one step less per base_ejection_time since the last ejection ended (Envoy's decay). */
export function decayedTimes(h: Pick<OriginHealth, 'timesEjected' | 'ejectedUntil'>, od: Pick<OutlierDetection, 'base_ejection_time'>, now: number): number {
  if (!h.timesEjected || !h.ejectedUntil || h.ejectedUntil > now) return h.timesEjected;
  return Math.max(0, h.timesEjected - Math.floor((now - h.ejectedUntil) / (od.base_ejection_time * 1000)));
}

/**
 * The class of one attempt on an origin, as the edge saw it: an answer that is not a 5xx
 * (`success`), a 5xx other than a gateway failure (`5xx`), a 502/503/504 (`gateway_failure`),
 * no connection (`connect_error`), or no response headers within per_try_timeout (`timeout`).
 * Outlier detection counts the last three as Envoy's gateway failures.
 */
export type Outcome = 'success' | '5xx' | 'gateway_failure' | 'connect_error' | 'timeout';

/** Statuses that mean the origin (or a gateway in front of it) failed to serve: Envoy's gateway errors. */
export const GATEWAY_FAILURE_STATUS: ReadonlySet<number> = new Set([502, 503, 504]);

/**
 * Classifies one attempt: `status` of the answer, or undefined with `failure` saying why there
 * was none (`connect` when no connection was made, `timeout` when no headers came in time).
 */
export function outcomeOf(status: number | undefined, failure: 'connect' | 'timeout' = 'connect'): Outcome {
  if (status === undefined) return failure === 'timeout' ? 'timeout' : 'connect_error';
  if (GATEWAY_FAILURE_STATUS.has(status)) return 'gateway_failure';
  return status >= 500 ? '5xx' : 'success';
}

/** Whether outlier detection counts `outcome` as a gateway failure (Envoy: 502/503/504, connect errors, timeouts). */
export const isGatewayFailure = (outcome: Outcome): boolean => outcome !== 'success' && outcome !== '5xx';

/**
 * Applies outcomes reported by edges to the origins of one pool, in order. Returns the new
 * states and the ejections/returns that happened. `healths[i]` belongs to the pool's origin i.
 */
export function applyOutcomes(
  healths: readonly OriginHealth[],
  outcomes: readonly { origin: number; outcome: Outcome }[],
  od: OutlierDetection,
  now: number,
): { healths: OriginHealth[]; ejected: number[] } {
  const next = healths.map((h) => ({ ...h }));
  const ejected: number[] = [];
  const maxEjected = Math.floor((next.length * od.max_ejection_percent) / 100);
  for (const { origin, outcome } of outcomes) {
    const h = next[origin];
    if (!h || h.ejectedUntil > now) continue;
    if (outcome === 'success') {
      h.consecutive5xx = 0;
      h.consecutiveGatewayFailure = 0;
      continue;
    }
    h.consecutive5xx += 1; // Envoy counts gateway failures as 5xx too
    if (isGatewayFailure(outcome)) h.consecutiveGatewayFailure += 1;
    const trip = h.consecutive5xx >= od.consecutive_5xx || h.consecutiveGatewayFailure >= od.consecutive_gateway_failure;
    const current = next.filter((x) => x.ejectedUntil > now).length;
    if (trip && current < Math.max(1, maxEjected)) {
      h.timesEjected = decayedTimes(h, od, now) + 1;
      h.ejectedUntil = now + ejectionMs(od, h.timesEjected);
      h.consecutive5xx = 0;
      h.consecutiveGatewayFailure = 0;
      ejected.push(origin);
    }
  }
  return { healths: next, ejected };
}

/**
 * The one rule for "usable by health": not marked down by probes and not ejected at `now`
 * (epoch ms). An origin with no record yet is usable (Cloudflare treats a new origin as healthy
 * until its first failures). Configuration (enabled, drain, weight) is the other half: see
 * core/health/verdict.ts.
 */
export function healthUsable(h: Pick<OriginHealth, 'verdict' | 'ejectedUntil'> | undefined, now: number): boolean {
  return !h || (h.verdict !== 'unhealthy' && h.ejectedUntil <= now);
}
