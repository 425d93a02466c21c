/**
 * LbState's schedule: one row per job, `(kind, key, due_at, attempts)`, due times in whole epoch
 * ms. The one alarm runs whatever is due through `runDue`, which hands each kind's due jobs to
 * that kind's runner at once (a round of probes runs concurrently) and writes back what each
 * answered. Nothing here knows the kinds: they are one table of runners in LbState.
 */
import type { Sql } from './sql.ts';

/** Time and jitter as LbState sees them (tests replace both): `now()` in epoch ms, `random()` in [0, 1). */
export interface Clock {
  now(): number;
  random(): number;
}

export const SYSTEM_CLOCK: Clock = { now: () => Date.now(), random: () => Math.random() };

export interface Job {
  kind: string;
  key: string;
  /** Epoch ms. */
  dueAt: number;
  /** Failed runs in a row (0 after a run that succeeded). */
  attempts: number;
}

/** A runner's answer when it wrote the job's row itself (work it started goes on after it answered). */
export const RESCHEDULED = 'rescheduled';

/**
 * A runner's answer for one job: when it is next due (epoch ms; attempts start again from 0),
 * `null` when it is done (its row is removed), an Error to back it off, or RESCHEDULED.
 */
export type JobResult = number | null | Error | typeof RESCHEDULED;

/** Runs a kind's due jobs (all of them at once) and answers one JobResult per job, in order. Throwing backs off every job given. */
export type JobRunner = (jobs: Job[], now: number) => JobResult[] | Promise<JobResult[]>;

/** Back-off after failures: 1 s, doubling per failure in a row, plus up to 10% jitter, never more than 60 s. */
export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 60_000;

/** Delay (ms) before the next try after `attempts` failures in a row; `random` in [0, 1) is the jitter. */
export function backoffMs(attempts: number, random: number): number {
  const base = BACKOFF_BASE_MS * 2 ** Math.min(Math.max(attempts - 1, 0), 16);
  return Math.min(BACKOFF_CAP_MS, Math.ceil(base * (1 + 0.1 * random)));
}

/** The `schedule` table. Due times are stored rounded up to a whole ms. */
export class Schedule {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Jobs due at `now` (epoch ms), soonest first, at most `limit`. */
  due(now: number, limit = 10_000): Job[] {
    return this.#sql
      .all<{ kind: string; key: string; due_at: number; attempts: number }>(
        'SELECT kind, key, due_at, attempts FROM schedule WHERE due_at <= ? ORDER BY due_at LIMIT ?',
        now,
        limit,
      )
      .map((r) => ({ kind: r.kind, key: r.key, dueAt: r.due_at, attempts: r.attempts }));
  }

  /** When the next job is due (epoch ms); null when nothing is scheduled. */
  next(): number | null {
    return this.#sql.first<{ at: number | null }>('SELECT MIN(due_at) AS at FROM schedule')?.at ?? null;
  }

  /** Due times of one kind's jobs, by key. */
  of(kind: string): Map<string, number> {
    return new Map(this.#sql.all<{ key: string; due_at: number }>('SELECT key, due_at FROM schedule WHERE kind = ?', kind).map((r) => [r.key, r.due_at]));
  }

  /** Schedules a job at `dueAt`, replacing its due time if it exists; attempts start from 0. */
  set(kind: string, key: string, dueAt: number): void {
    this.#sql.run(
      'INSERT INTO schedule (kind, key, due_at, attempts) VALUES (?, ?, ?, 0) ON CONFLICT (kind, key) DO UPDATE SET due_at = excluded.due_at, attempts = 0',
      kind,
      key,
      Math.ceil(dueAt),
    );
  }

  /** Moves a job that still exists (a job removed while it ran stays removed); attempts start from 0. */
  move(kind: string, key: string, dueAt: number): void {
    this.#sql.run('UPDATE schedule SET due_at = ?, attempts = 0 WHERE kind = ? AND key = ?', Math.ceil(dueAt), kind, key);
  }

  /** Schedules a job at `dueAt` unless it is already due sooner. */
  soonest(kind: string, key: string, dueAt: number): void {
    this.#sql.run(
      'INSERT INTO schedule (kind, key, due_at, attempts) VALUES (?, ?, ?, 0) ON CONFLICT (kind, key) DO UPDATE SET due_at = excluded.due_at WHERE excluded.due_at < schedule.due_at',
      kind,
      key,
      Math.ceil(dueAt),
    );
  }

  /** Schedules a job at `dueAt` unless it is scheduled already (writes nothing then). */
  ensure(kind: string, key: string, dueAt: number): void {
    this.#sql.run('INSERT OR IGNORE INTO schedule (kind, key, due_at, attempts) VALUES (?, ?, ?, 0)', kind, key, Math.ceil(dueAt));
  }

  remove(kind: string, key: string): void {
    this.#sql.run('DELETE FROM schedule WHERE kind = ? AND key = ?', kind, key);
  }

  /** Records a failed run: attempts + 1, due again after the back-off. Answers the new due time (epoch ms). */
  fail(job: Job, now: number, random: number): number {
    const at = Math.ceil(now + backoffMs(job.attempts + 1, random));
    this.#sql.run('UPDATE schedule SET due_at = ?, attempts = ? WHERE kind = ? AND key = ?', at, job.attempts + 1, job.kind, job.key);
    return at;
  }
}

/**
 * Runs every job due at `clock.now()`: each kind's jobs go to its runner at once, kinds run
 * concurrently, and what each job's runner answered is written back. A job of a kind with no
 * runner is dropped; a runner that throws or answers an Error backs its jobs off (logged once per
 * failure). Answers how many jobs of each kind ran.
 */
export async function runDue(schedule: Schedule, runners: Readonly<Record<string, JobRunner>>, clock: Clock): Promise<Record<string, number>> {
  const now = clock.now();
  const byKind = new Map<string, Job[]>();
  for (const job of schedule.due(now)) {
    const jobs = byKind.get(job.kind);
    if (jobs) jobs.push(job);
    else byKind.set(job.kind, [job]);
  }
  const ran: Record<string, number> = {};
  await Promise.all(
    [...byKind].map(async ([kind, jobs]) => {
      const runner = Object.hasOwn(runners, kind) ? runners[kind] : undefined;
      if (!runner) {
        console.warn(`LbState: dropping ${jobs.length} job(s) of unknown kind ${JSON.stringify(kind)}`);
        for (const job of jobs) schedule.remove(kind, job.key);
        return;
      }
      ran[kind] = jobs.length;
      let results: JobResult[];
      try {
        results = await runner(jobs, now);
      } catch (e) {
        results = jobs.map(() => (e instanceof Error ? e : new Error(String(e))));
      }
      jobs.forEach((job, i) => {
        const r = results[i];
        if (r === RESCHEDULED) return;
        if (r === null) return schedule.remove(kind, job.key);
        if (typeof r === 'number' && Number.isFinite(r)) return schedule.move(kind, job.key, r);
        const error = r instanceof Error ? r : new Error(`runner answered ${String(r)}`);
        const at = schedule.fail(job, clock.now(), clock.random());
        console.error(
          `LbState: job ${kind} ${JSON.stringify(job.key)} failed (${job.attempts + 1} in a row), next try at ${new Date(at).toISOString()}: ${error.message}`,
        );
      });
    }),
  );
  return ran;
}
