import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasHopByHop, isIdempotent, mayRetry, originUrl, retryableStatus, splitUrl, stripHopByHop, upstreamHeaders } from './index.ts';

const origin = (address: string, port = 0) => ({ name: 'o', address, port, weight: 1, enabled: true, drain: false, header: {} });

describe('splitUrl', () => {
  it('agrees with the WHATWG URL parser on what the runtime puts in Request.url', () => {
    for (const u of [
      'https://a.example.com/a/b?x=1&y=%20',
      'http://a.com:8080/',
      'http://[::1]:9000/p?q',
      'http://[2001:db8::1]/',
      'https://a.com?x=1',
      'http://u:p@h.com:81/x',
      'http://a.com/?',
    ]) {
      const want = new URL(u);
      expect(splitUrl(want.href), u).toEqual({
        protocol: want.protocol,
        host: want.host,
        hostname: want.hostname,
        path: want.pathname + want.search + (want.href.endsWith('?') ? '?' : ''),
      });
    }
  });
});

describe('originUrl', () => {
  it('keeps scheme, path and query; swaps host and port', () => {
    const incoming = splitUrl('https://app.example.com/a/b?x=1&y=%20');
    expect(originUrl(incoming, origin('10.0.0.1', 8443))).toBe('https://10.0.0.1:8443/a/b?x=1&y=%20');
    expect(originUrl(incoming, origin('origin.internal'))).toBe('https://origin.internal/a/b?x=1&y=%20');
    expect(originUrl(splitUrl('http://a.com:8080/'), origin('::1', 9000))).toBe('http://[::1]:9000/');
    expect(originUrl(splitUrl('https://a.com/'), origin('10.0.0.1', 443))).toBe('https://10.0.0.1/');
  });
});

describe('upstreamHeaders', () => {
  it('strips hop-by-hop fields, also those named by Connection, and sets X-Forwarded-*', () => {
    const h = upstreamHeaders(
      new Headers({
        connection: 'keep-alive, x-secret-hop',
        'keep-alive': '5',
        te: 'trailers',
        'transfer-encoding': 'chunked',
        'proxy-authorization': 'x',
        'x-secret-hop': '1',
        'x-forwarded-for': '1.1.1.1',
        accept: 'text/html',
      }),
      { clientIp: '2.2.2.2', proto: 'https', host: 'app.example.com' },
    );
    expect([...h.keys()].sort()).toEqual(['accept', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);
    expect(h.get('x-forwarded-for')).toBe('1.1.1.1, 2.2.2.2');
    expect(h.get('x-forwarded-proto')).toBe('https');
    expect(h.get('x-forwarded-host')).toBe('app.example.com');
  });

  it("drops the client's own forwarding claims unless trusted: the client address comes from the runtime", () => {
    const claims = { forwarded: 'for=6.6.6.6', 'x-real-ip': '6.6.6.6', 'true-client-ip': '6.6.6.6', 'x-forwarded-port': '1', accept: '*/*' };
    const h = upstreamHeaders(new Headers(claims), { clientIp: '2.2.2.2', proto: 'https', host: 'a' });
    expect([...h.keys()].sort()).toEqual(['accept', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);
    expect(h.get('x-forwarded-for')).toBe('2.2.2.2');
    const trusted = upstreamHeaders(new Headers(claims), { clientIp: '2.2.2.2', proto: 'https', host: 'a', trustClientForwarded: true });
    expect(trusted.get('x-real-ip')).toBe('6.6.6.6');
    expect(trusted.get('forwarded')).toBe('for=6.6.6.6');
  });

  it('finds and strips hop-by-hop response fields, Proxy-Connection and names listed in Connection included', () => {
    const res = new Headers({
      connection: 'x-hop',
      'x-hop': '1',
      'proxy-authenticate': 'Basic',
      'proxy-connection': 'keep-alive',
      'content-type': 'text/plain',
    });
    expect(hasHopByHop(res)).toBe(true);
    expect([...stripHopByHop(res).keys()]).toEqual(['content-type']);
    expect(hasHopByHop(new Headers({ 'content-type': 'text/plain' }))).toBe(false);
    // The runtime itself drops Connection: keep-alive / close and Keep-Alive: no copy for those.
    expect(hasHopByHop(new Headers({ connection: 'keep-alive', 'keep-alive': 'timeout=5' }))).toBe(false);
    expect(hasHopByHop(new Headers({ connection: 'keep-alive, x-hop' }))).toBe(true);
  });

  it('keeps a WebSocket handshake and applies the origin Host', () => {
    const h = upstreamHeaders(new Headers({ upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'k' }), {
      proto: 'http',
      host: 'a',
      originHost: 'internal.example',
    });
    expect(h.get('upgrade')).toBe('websocket');
    expect(h.get('connection')).toBe('Upgrade');
    expect(h.get('sec-websocket-key')).toBe('k');
    expect(h.get('host')).toBe('internal.example');
    expect(h.get('x-forwarded-for')).toBeNull();
  });
});

describe('upstreamHeaders against the plain rewrite (strip every listed name, then set)', () => {
  // The rewrite as first written: a delete per hop-by-hop and forwarding name, whether present or not.
  const reference = (incoming: Headers, trust: boolean, clientIp?: string, originHost?: string) => {
    const h = stripHopByHop(new Headers(incoming));
    if (incoming.get('upgrade')?.toLowerCase() === 'websocket') (h.set('upgrade', 'websocket'), h.set('connection', 'Upgrade'));
    if (!trust) for (const n of ['forwarded', 'x-real-ip', 'true-client-ip', 'x-forwarded-port']) h.delete(n);
    const prior = incoming.get('x-forwarded-for');
    if (clientIp) h.set('x-forwarded-for', prior ? `${prior}, ${clientIp}` : clientIp);
    h.set('x-forwarded-proto', 'https');
    h.set('x-forwarded-host', 'a');
    if (originHost) h.set('host', originHost);
    return [...h];
  };
  const NAMES = [
    'connection',
    'keep-alive',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
    'proxy-connection',
    'proxy-authorization',
    'forwarded',
    'x-real-ip',
    'true-client-ip',
    'x-forwarded-port',
    'x-forwarded-for',
    'accept',
    'x-hop',
    'cookie',
    'X-Hop',
    'x-forwarded-proto',
    'x-forwarded-host',
    'host',
  ];
  const VALUES = ['1', 'websocket', 'WebSocket', 'keep-alive, x-hop', 'Upgrade', ' X-HOP , accept', ',', 'close', 'a, b'];

  it('gives the same fields for any request (2,000 generated)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(...VALUES)), { maxLength: 10 }),
        fc.boolean(),
        fc.option(fc.constant('2.2.2.2'), { nil: undefined }),
        fc.option(fc.constant('origin.example'), { nil: undefined }),
        (fields, trust, clientIp, originHost) => {
          const incoming = new Headers();
          for (const [n, v] of fields) incoming.append(n, v);
          const facts = { clientIp, proto: 'https', host: 'a', trustClientForwarded: trust, originHost };
          expect([...upstreamHeaders(incoming, facts)]).toEqual(reference(incoming, trust, clientIp, originHost));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('retry rules', () => {
  it('retry 502/503/504 for idempotent methods only', () => {
    expect(['GET', 'head', 'PUT', 'DELETE', 'OPTIONS'].every(isIdempotent)).toBe(true);
    expect(['POST', 'PATCH'].some(isIdempotent)).toBe(false);
    expect(retryableStatus('GET', 503)).toBe(true);
    expect(retryableStatus('GET', 500)).toBe(false);
    expect(retryableStatus('POST', 502)).toBe(false);
    expect(retryableStatus('POST', 502, true)).toBe(true);
  });

  it('move a non-idempotent request on only when it never reached an origin, unless the load balancer opts in', () => {
    expect(mayRetry('POST', 'connect_error')).toBe(true);
    expect(mayRetry('POST', 'timeout')).toBe(false);
    expect(mayRetry('PATCH', 'gateway_failure')).toBe(false);
    expect(mayRetry('GET', 'timeout')).toBe(true);
    expect(mayRetry('POST', 'timeout', true)).toBe(true);
    expect(mayRetry('GET', '5xx', true)).toBe(false);
  });
});
