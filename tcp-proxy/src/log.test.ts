/** jsonLog: one JSON object per line; per-connection lines held briefly and written together, anything else at once and in order. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jsonLog } from './log.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('jsonLog', () => {
  it('holds connection lines until another event, the flush timer or flush(); keeps their order', () => {
    vi.useFakeTimers();
    const writes: string[] = [];
    const log = jsonLog((t) => writes.push(t));
    log('connection_closed', { app: 'a', result: 'proxied' });
    log('connection_closed', { app: 'a', result: 'refused_limit', error: undefined });
    expect(writes).toEqual([]);
    log('draining', { open_connections: 0 });
    expect(writes).toHaveLength(1);
    const lines = writes[0]!
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.event, l.result])).toEqual([
      ['connection_closed', 'proxied'],
      ['connection_closed', 'refused_limit'],
      ['draining', undefined],
    ]);
    expect(lines[0]).toMatchObject({ ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), app: 'a' });

    log('connection_closed', { app: 'a' });
    vi.runAllTimers();
    expect(writes).toHaveLength(2);
    log('connection_closed', { app: 'b' });
    log.flush();
    expect(writes).toHaveLength(3);
    log.flush();
    expect(writes).toHaveLength(3);
  });
});
