import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { T0, alarmAt, fakeClock, hook, query, stubOf } from '../../test/fixtures/lb-state.ts';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { MonitorSchema, PoolSchema, type Monitor, type Pool } from '../../core/config/index.ts';
import type { HealthEvent } from '../../core/health/index.ts';
import type { Targets } from '../../core/rpc/index.ts';
import { EVENTS_MAX, EVENTS_MAX_AGE_MS, PRUNE_EVERY_MS, type LbState } from './index.ts';
import type { Subscriber } from './outbox.ts';
import { backoffMs } from './schedule.ts';

const ports = inject('probePorts');
const stored = { created_on: '', modified_on: '' };
const monitor = { ...MonitorSchema.parse({ path: '/ok', interval: 5, timeout: 1, retries: 0, consecutive_down: 1 }), id: 'm1', ...stored } as Monitor;
const pool = {
  ...PoolSchema.parse({
    name: 'p',
    monitor: 'm1',
    origins: [
      { name: 'up', address: '127.0.0.1', port: ports.http },
      { name: 'down', address: '127.0.0.1', port: ports.closed },
      { name: 'third', address: '127.0.0.1', port: ports.http },
    ],
  }),
  id: 'p1',
  ...stored,
} as Pool;
const targets = (lbId: string): Targets => ({ lbId, pools: [{ pool, monitor }] });

const outbox = (name: string) =>
  query<{ subscriber: string; event: string; due_at: number; attempts: number; last_error: string }>(
    name,
    'SELECT subscriber, event, due_at, attempts, last_error FROM outbox ORDER BY id',
  );

/** A subscriber that records what it takes and throws while `failing`. */
function recorder(name: string, failing = 0) {
  const batches: HealthEvent[][] = [];
  const state = { failing, calls: 0 };
  const subscriber: Subscriber = {
    name,
    async deliver(events) {
      state.calls++;
      if (state.failing > 0) {
        state.failing--;
        throw new Error('subscriber down');
      }
      batches.push(events);
    },
  };
  return { subscriber, batches, state };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('LbState schedule and outbox', () => {
  it('runs probe and deliver jobs from one alarm; the outbox rows a transition wrote are delivered', async () => {
    const name = 'lb-jobs';
    const clock = fakeClock();
    const rec = recorder('rec');
    await hook(name, { clock, subscribers: [rec.subscriber] });
    const lb = stubOf(name);
    await lb.sync(targets(name));
    await runDurableObjectAlarm(lb); // round 1: three transitions, each with its outbox row
    const log = (await lb.events(10)).events.reverse();
    expect(log).toHaveLength(3);
    const queued = await outbox(name);
    expect(queued.map((r) => [r.subscriber, JSON.parse(r.event), r.attempts])).toEqual(log.map(({ id: _, ...e }) => ['rec', e, 0]));
    expect(await query(name, "SELECT due_at FROM schedule WHERE kind = 'deliver' AND key = 'rec'")).toEqual([{ due_at: T0 }]);
    expect(rec.batches).toEqual([]);

    clock.t = T0 + 5000;
    expect(await runDurableObjectAlarm(lb)).toBe(true); // round 2 and the delivery: both due
    await hook(name);
    expect((await lb.records()).map((r) => r.health.lastCheckAt)).toEqual([T0 + 5000, T0 + 5000, T0 + 5000]);
    expect(rec.batches).toEqual([log.map(({ id: _, ...e }) => e)]);
    expect(await outbox(name)).toEqual([]);
    expect(await query(name, "SELECT * FROM schedule WHERE kind = 'deliver'")).toEqual([]);
  });

  it('retries a failing subscriber with back-off, logs each failure once, keeps its rows across an eviction and delivers them after', async () => {
    const name = 'lb-retry';
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const clock = fakeClock();
    const flaky = recorder('flaky', 2);
    await hook(name, { clock, subscribers: [flaky.subscriber] });
    const lb = stubOf(name);
    await lb.sync(targets(name));
    await runDurableObjectAlarm(lb); // probes: three outbox rows

    clock.t = T0 + 1;
    await runDurableObjectAlarm(lb);
    await hook(name);
    expect(flaky.state.calls).toBe(1);
    expect((await outbox(name)).map((r) => [r.attempts, r.due_at, r.last_error])).toEqual(Array(3).fill([1, T0 + 1 + 1000, 'subscriber down']));
    expect(await alarmAt(name)).toBe(T0 + 1001);

    clock.t = T0 + 500; // not due yet: nothing is sent
    await runDurableObjectAlarm(lb);
    await hook(name);
    expect(flaky.state.calls).toBe(1);

    clock.t = T0 + 1001;
    await runDurableObjectAlarm(lb);
    await hook(name);
    expect(flaky.state.calls).toBe(2);
    expect((await outbox(name)).map((r) => [r.attempts, r.due_at])).toEqual(Array(3).fill([2, T0 + 1001 + 2000]));
    expect(errors.mock.calls.filter(([m]) => String(m).includes('to flaky failed')).length).toBe(2);

    await evictDurableObject(lb);
    expect((await outbox(name)).map((r) => r.attempts)).toEqual([2, 2, 2]); // stored, not in memory
    const after = recorder('flaky');
    await hook(name, { clock: fakeClock(T0 + 3001), subscribers: [after.subscriber] });
    expect(await runDurableObjectAlarm(lb)).toBe(true);
    await hook(name);
    expect(after.batches.map((b) => b.map((e) => e.origin).sort())).toEqual([['down', 'third', 'up']]);
    expect(await outbox(name)).toEqual([]);
  });

  it('never waits on a subscriber: probes are applied while a batch is out, leased so it is not sent twice', async () => {
    const name = 'lb-slow';
    const clock = fakeClock();
    let calls = 0;
    let release: (() => void) | undefined;
    const slow: Subscriber = { name: 'slow', deliver: () => new Promise<void>((resolve) => ((calls += 1), (release = resolve))) };
    await hook(name, { clock, subscribers: [slow] });
    const lb = stubOf(name);
    await lb.sync(targets(name));
    await runDurableObjectAlarm(lb);
    clock.t = T0 + 5000;
    await runDurableObjectAlarm(lb); // round 2 and a delivery that does not answer
    expect(calls).toBe(1);
    expect((await lb.records()).map((r) => r.health.lastCheckAt)).toEqual([T0 + 5000, T0 + 5000, T0 + 5000]);
    expect((await outbox(name)).map((r) => r.due_at)).toEqual(Array(3).fill(T0 + 5000 + 10_000 + 5000)); // leased: deadline + margin
    clock.t = T0 + 10_000;
    await runDurableObjectAlarm(lb); // round 3: the batch is still out, not sent again
    expect(calls).toBe(1);
    await runInDurableObject(lb, () => release!());
    await hook(name);
    expect(await outbox(name)).toEqual([]);
  });

  it('retries a delivery that misses its deadline', async () => {
    const name = 'lb-deadline';
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const clock = fakeClock();
    const never: Subscriber = { name: 'never', deliver: () => new Promise<void>(() => {}) };
    await hook(name, { clock, subscribers: [never], deliveryDeadlineMs: 20 });
    const lb = stubOf(name);
    await lb.sync(targets(name));
    await runDurableObjectAlarm(lb);
    clock.t = T0 + 1;
    await runDurableObjectAlarm(lb);
    await hook(name);
    expect((await outbox(name)).map((r) => [r.attempts, r.due_at, r.last_error])).toEqual(Array(3).fill([1, T0 + 1001, 'no answer within 20 ms']));
  });

  it('re-arms never at or before now: for a job due now, an overdue job, or one the alarm itself made due now', async () => {
    const name = 'lb-arm';
    const clock = fakeClock();
    await hook(name, { clock, runners: { tick: (jobs, now) => jobs.map(() => now) } });
    const lb = stubOf(name);
    expect((await lb.sync(targets(name))).nextAlarm).toBe(T0 + 1); // probes due at T0 = now
    clock.t = T0 + 60_000;
    expect((await lb.sync(targets(name))).nextAlarm).toBe(T0 + 60_001); // overdue
    expect(await alarmAt(name)).toBe(T0 + 60_001);

    await lb.sync({ lbId: name, pools: [] });
    await runInDurableObject(lb, (_: LbState, state) =>
      state.storage.sql.exec("INSERT INTO schedule (kind, key, due_at) VALUES ('tick', 'x', ?)", T0 + 60_000),
    );
    await lb.sync({ lbId: name, pools: [] }); // arms for the tick job
    await runDurableObjectAlarm(lb); // the tick job answers "due again now"
    expect(await query(name, "SELECT due_at FROM schedule WHERE kind = 'tick'")).toEqual([{ due_at: T0 + 60_000 }]);
    expect(await alarmAt(name)).toBe(T0 + 60_001);
  });

  it('backs a throwing job off exponentially (capped at 60 s), logging once per failure; a failing alarm backs off too', async () => {
    const name = 'lb-backoff';
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const clock = {
      ...fakeClock(),
      breakNext: 0,
      now() {
        if (this.breakNext > 0) {
          this.breakNext--;
          throw new Error('clock broke');
        }
        return this.t;
      },
    };
    await hook(name, {
      clock,
      runners: {
        boom: () => {
          throw new Error('boom');
        },
      },
    });
    const lb = stubOf(name);
    await lb.sync({ lbId: name, pools: [] });
    await runInDurableObject(lb, (_: LbState, state) => state.storage.sql.exec("INSERT INTO schedule (kind, key, due_at) VALUES ('boom', 'x', ?)", T0));
    await lb.sync({ lbId: name, pools: [] }); // arms for it
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      expect(await runDurableObjectAlarm(lb)).toBe(true);
      const [row] = await query<{ due_at: number; attempts: number }>(name, "SELECT due_at, attempts FROM schedule WHERE kind = 'boom'");
      expect(row!.attempts).toBe(i + 1);
      delays.push(row!.due_at - clock.t);
      expect(await alarmAt(name)).toBe(row!.due_at);
      clock.t = row!.due_at;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
    expect(errors.mock.calls.filter(([m]) => String(m).includes('job boom')).length).toBe(8);

    // A failure outside any job: the next run waits the back-off even though the job is overdue.
    await hook(name, { runners: { boom: () => [null] } });
    clock.t += 100_000;
    clock.breakNext = 1;
    await runDurableObjectAlarm(lb);
    expect(await alarmAt(name)).toBe(clock.t + backoffMs(1, 0));
    clock.breakNext = 1;
    await runDurableObjectAlarm(lb);
    expect(await alarmAt(name)).toBe(clock.t + backoffMs(2, 0));
    await runDurableObjectAlarm(lb); // works again: the job runs, and is done
    expect(await query(name, 'SELECT * FROM schedule')).toEqual([]);
    expect(await alarmAt(name)).toBeNull();
  });

  it('prunes the event log to 1,000 events and 7 days, and old outbox rows', async () => {
    const name = 'lb-prune';
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const clock = fakeClock();
    await hook(name, { clock });
    const lb = stubOf(name);
    await lb.sync({ lbId: name, pools: [] });
    await runInDurableObject(lb, (_: LbState, state) => {
      const sql = state.storage.sql;
      for (let i = 1; i <= EVENTS_MAX + 5; i++) {
        sql.exec(
          "INSERT INTO health_events (at, pool_id, origin, from_state, to_state, reason) VALUES (?, 'p1', 'up', 'a', 'b', '')",
          i <= 3 ? T0 - EVENTS_MAX_AGE_MS - 1 : T0,
        );
      }
      sql.exec(
        "INSERT INTO outbox (subscriber, event, created_at, due_at) VALUES ('gone', '{}', ?, ?), ('gone', '{}', ?, ?)",
        T0 - EVENTS_MAX_AGE_MS - 1,
        T0,
        T0,
        T0,
      );
      sql.exec("INSERT INTO schedule (kind, key, due_at) VALUES ('prune', 'retention', ?)", T0);
    });
    await lb.sync({ lbId: name, pools: [] }); // arms for it
    await runDurableObjectAlarm(lb);
    expect(await query(name, 'SELECT COUNT(*) AS n, MIN(id) AS oldest FROM health_events')).toEqual([{ n: EVENTS_MAX, oldest: 6 }]);
    expect(await query(name, 'SELECT created_at FROM outbox')).toEqual([{ created_at: T0 }]);
    expect(await query(name, "SELECT due_at FROM schedule WHERE kind = 'prune'")).toEqual([{ due_at: T0 + PRUNE_EVERY_MS }]);
  });
});
