/**
 * How the dashboard writes figures, shared by the server-rendered tables and the live JSON the
 * page polls (so a cell reads the same before and after an update).
 */
import type { EventView, OriginView, OverviewRow, PoolView } from './api.ts';

/** A cell's tone: its colour class (`tone-<name>` in static/dashboard.css). */
export type Tone = 'ok' | 'bad' | 'warn' | 'off';

const HEALTH_TONE: Record<OriginView['health'], Tone> = { healthy: 'ok', unhealthy: 'bad', ejected: 'warn', unchecked: 'off' };

/** "12 ms", "0.4 ms", or "–" when unknown. */
export function ms(value: number | null): string {
  if (value === null) return '–';
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

/** Requests/s: "12.3", or "–" without metrics. */
export function rate(value: number | null): string {
  return value === null ? '–' : value < 100 ? value.toFixed(1) : String(Math.round(value));
}

/** An error rate: "0.5 %", or "–" when nothing was sent or without metrics. */
export function percent(value: number | null): string {
  return value === null ? '–' : `${value < 10 ? value.toFixed(1) : Math.round(value)} %`;
}

/** "2026-11-21 10:35:02 UTC", or "–". */
export function when(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '–';
}

/** What an origin does with traffic: its configuration first, then its health. */
export function rotation(o: OriginView): string {
  if (!o.enabled) return 'disabled';
  if (o.drain) return 'draining';
  if (o.weight === 0) return 'weight 0';
  return o.health === 'healthy' || o.health === 'unchecked' ? 'in rotation' : 'out of rotation';
}

/** The live cells of an origin row (keys: the `data-f` of its cells), and its health tone. */
export function originCells(o: OriginView): { cells: Record<string, string>; tone: Tone } {
  const health = o.health === 'ejected' && o.ejectedUntil ? `ejected until ${o.ejectedUntil.slice(11, 19)} UTC` : o.health;
  return {
    cells: {
      health,
      rotation: rotation(o),
      rtt: ms(o.rtt),
      check: o.reason ? `${o.check}: ${o.reason}` : o.check,
      since: when(o.since),
      total: String(o.total),
    },
    tone: HEALTH_TONE[o.health],
  };
}

/** A pool's verdict line: "healthy · 2 of 3 origins usable (minimum 1)". */
export function poolLine(p: PoolView): { text: string; tone: Tone } {
  if (!p.enabled) return { text: 'disabled', tone: 'off' };
  return {
    text: `${p.healthy ? 'healthy' : 'unhealthy'} · ${p.usable} of ${p.origins.length} origins usable (minimum ${p.minimum})`,
    tone: p.healthy ? 'ok' : 'bad',
  };
}

/** An overview row's live cells and tone. */
export function overviewCells(r: OverviewRow): { cells: Record<string, string>; tone: Tone } {
  const tone: Tone = !r.enabled ? 'off' : r.poolsHealthy === 0 ? 'bad' : r.poolsHealthy < r.poolsTotal || r.originsHealthy < r.originsTotal ? 'warn' : 'ok';
  return {
    cells: {
      status: r.enabled ? { ok: 'healthy', bad: 'down', warn: 'degraded', off: 'disabled' }[tone] : 'disabled',
      pools: `${r.poolsHealthy} / ${r.poolsTotal}`,
      origins: `${r.originsHealthy} / ${r.originsTotal}`,
      total: String(r.total),
      rate: rate(r.rate),
      errors: percent(r.errors),
    },
    tone,
  };
}

/** An event as one line of the log. */
export function eventLine(e: EventView): { at: string; subject: string; change: string; reason: string } {
  return { at: when(e.at), subject: `${e.poolId}/${e.origin}`, change: `${e.from} → ${e.to}`, reason: e.reason };
}
