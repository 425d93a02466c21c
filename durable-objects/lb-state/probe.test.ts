import { describe, expect, inject, it } from 'vitest';
import { MonitorSchema, type Monitor, type Origin } from '../../core/config/index.ts';
import { probeOrigin } from './probe.ts';

const ports = inject('probePorts');
const monitor = (m: object) => ({ ...MonitorSchema.parse({ interval: 5, timeout: 1, retries: 0, ...m }), id: 'm', created_on: '', modified_on: '' }) as Monitor;
const origin = (port: number): Origin => ({ name: 'o', address: '127.0.0.1', port, weight: 1, enabled: true, drain: false, header: {} });

describe('http probes against a real server', () => {
  it('pass on an expected code and body, fail on the wrong code or a missing body', async () => {
    expect(await probeOrigin(monitor({ path: '/ok', expected_codes: '2xx', expected_body: 'alive' }), origin(ports.http))).toMatchObject({
      ok: true,
      status: 200,
    });
    expect(await probeOrigin(monitor({ path: '/fail' }), origin(ports.http))).toMatchObject({ ok: false, status: 500, reason: 'HTTP 500, expected 200' });
    expect(await probeOrigin(monitor({ path: '/ok', expected_body: 'dead' }), origin(ports.http))).toMatchObject({
      ok: false,
      reason: 'response body does not contain expected_body',
    });
  });

  it('judge a redirect itself unless follow_redirects', async () => {
    expect(await probeOrigin(monitor({ path: '/redirect' }), origin(ports.http))).toMatchObject({ ok: false, status: 302 });
    expect(await probeOrigin(monitor({ path: '/redirect', follow_redirects: true }), origin(ports.http))).toMatchObject({ ok: true, status: 200 });
  });

  it('fail after timeout when the origin never answers, and on a refused connection', async () => {
    const stalled = await probeOrigin(monitor({ path: '/stall', timeout: 1 }), origin(ports.http));
    expect(stalled).toMatchObject({ ok: false, status: 0, reason: 'timeout after 1000 ms' });
    expect(stalled.rtt).toBeGreaterThanOrEqual(900);
    const refused = await probeOrigin(monitor({ path: '/ok' }), origin(ports.closed));
    expect(refused.ok).toBe(false);
    expect(refused.reason).toMatch(/^connection failed: /);
  });

  it('use the monitor port over the origin port', async () => {
    expect(await probeOrigin(monitor({ path: '/ok', port: ports.http }), origin(ports.closed))).toMatchObject({ ok: true });
  });
});

describe('tcp probes against a real server', () => {
  it('pass when the connection opens and fail when it is refused', async () => {
    expect(await probeOrigin(monitor({ type: 'tcp' }), origin(ports.tcp))).toMatchObject({ ok: true, status: 0 });
    const refused = await probeOrigin(monitor({ type: 'tcp' }), origin(ports.closed));
    expect(refused).toMatchObject({ ok: false });
    expect(refused.reason).toMatch(/^connection failed: /);
  });
});

describe('a probe that cannot be built', () => {
  it('is a failed probe, not an exception (a header value with a newline, a method fetch refuses)', async () => {
    const newline = { ...monitor({ path: '/ok' }), header: { 'X-Probe': ['a\nb'] } };
    expect(await probeOrigin(newline, origin(ports.http))).toEqual({ ok: false, rtt: 0, status: 0, reason: 'probe could not be built: Invalid header value.' });
    expect(await probeOrigin(monitor({ path: '/ok', method: 'CONNECT' }), origin(ports.http))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^probe could not be built: /),
    });
  });
});
