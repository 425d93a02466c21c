/**
 * The DoH route inside workerd, through the Worker's fetch handler: the HTTP side of RFC 8484
 * (methods, media type, sizes, caching), and pool steering by request.cf (geo by country and PoP),
 * which wrangler dev cannot vary per request. Messages are made and read by @dnsquery/dns-packet.
 */
import * as dnsPacket from '@dnsquery/dns-packet';
import { SELF } from 'cloudflare:test';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { base64url } from './index.ts';

const admin = (path: string, init: RequestInit) =>
  SELF.fetch(`http://localhost/admin/v1${path}`, { ...init, headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' } });

const query = (name: string, type: dnsPacket.RecordType = 'A', id = 0) =>
  dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
const b64url = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const get = (bytes: Uint8Array, cf: Record<string, unknown> = {}, host = 'localhost') =>
  SELF.fetch(`http://${host}/dns-query?dns=${b64url(bytes)}`, { cf } as RequestInit);
const post = (body: BodyInit, type = 'application/dns-message', extra: RequestInit = {}) =>
  SELF.fetch('http://localhost/dns-query', { method: 'POST', headers: { 'content-type': type }, body, ...extra });
const read = async (res: Response) => dnsPacket.decode(new Uint8Array(await res.arrayBuffer()));
const addresses = async (res: Response) => (await read(res)).answers!.map((a) => a.data);

beforeAll(async () => {
  const pool = (id: string, address: string) => ({ id, name: id, origins: [{ name: id, address }] });
  const res = await admin('/config', {
    method: 'PUT',
    body: JSON.stringify({
      pools: [pool('us', '192.0.2.1'), pool('eu', '198.51.100.1'), pool('asia', '203.0.113.1')],
      load_balancers: [
        {
          id: 'geo',
          name: 'geo.doh.test',
          proxied: false,
          ttl: 45,
          steering_policy: 'geo',
          default_pools: ['us'],
          fallback_pool: 'us',
          country_pools: { DE: ['eu'] },
          pop_pools: { NRT: ['asia'] },
        },
        { id: 'proxied', name: 'proxied.doh.test', default_pools: ['us'], fallback_pool: 'us' },
      ],
    }),
  });
  expect(res.status).toBe(200);
});

describe('geo steering by request.cf', () => {
  it('country DE answers the eu pool, PoP NRT the asia pool, elsewhere default_pools', async () => {
    expect(await addresses(await get(query('geo.doh.test'), { country: 'DE' }))).toEqual(['198.51.100.1']);
    expect(await addresses(await get(query('geo.doh.test'), { country: 'DE', colo: 'NRT' }))).toEqual(['203.0.113.1']);
    expect(await addresses(await get(query('geo.doh.test'), { country: 'BR' }))).toEqual(['192.0.2.1']);
  });
});

describe('RFC 8484 over HTTP', () => {
  it('GET and POST answer application/dns-message with Cache-Control max-age = the TTL', async () => {
    for (const res of [await get(query('geo.doh.test', 'A', 0)), await post(query('geo.doh.test', 'A', 0))]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/dns-message');
      expect(res.headers.get('cache-control')).toBe('max-age=45');
      const m = await read(res);
      expect([m.rcode, m.answers![0]!.ttl, m.answers![0]!.data]).toEqual(['NOERROR', 45, '192.0.2.1']);
    }
  });

  it('REFUSED for a foreign name and a proxied load balancer, not cached; FORMERR for garbage with an ID', async () => {
    for (const name of ['example.org', 'proxied.doh.test']) {
      const res = await get(query(name));
      expect([res.status, res.headers.get('cache-control'), (await read(res)).rcode]).toEqual([200, 'no-store', 'REFUSED']);
    }
    const garbage = await post(new Uint8Array([0xab, 0xcd, 0x01, 0x00, 0xff, 0xff, 0xff]));
    expect([garbage.status, (await read(garbage)).rcode, garbage.headers.get('cache-control')]).toEqual([200, 'FORMERR', 'no-store']);
  });

  it('HTTP errors: 400 (no ID, no dns parameter, not base64url, empty body), 405, 415, 413, 414', async () => {
    expect((await post(new Uint8Array([1]))).status).toBe(400);
    expect((await SELF.fetch('http://localhost/dns-query')).status).toBe(400);
    expect((await SELF.fetch('http://localhost/dns-query?dns=***')).status).toBe(400);
    expect((await post(new Uint8Array(0))).status).toBe(400);
    const put = await SELF.fetch('http://localhost/dns-query', { method: 'PUT', body: query('geo.doh.test') });
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'GET, POST']);
    expect((await post(query('geo.doh.test'), 'application/json')).status).toBe(415);
    expect((await post(new Uint8Array(4097))).status).toBe(413);
    expect((await post(new Uint8Array(4096))).status).toBe(200); // at the limit: read (FORMERR)
    const chunked = new ReadableStream({
      pull(c) {
        c.enqueue(new Uint8Array(1024));
      },
    });
    expect((await post(chunked, 'application/dns-message', { duplex: 'half' } as RequestInit)).status).toBe(413); // endless body, read only to the cap
    expect((await get(new Uint8Array(5000))).status).toBe(414);
  });

  it('GET reads the first dns parameter among others, percent-encoded or not', async () => {
    const q = b64url(query('geo.doh.test'));
    const status = async (search: string) => {
      const res = await SELF.fetch(`http://localhost/dns-query?${search}`);
      return [res.status, res.status === 200 ? (await read(res)).rcode : await res.text()];
    };
    expect(await status(`ct=application/dns-message&dns=${q}&dns=***`)).toEqual([200, 'NOERROR']);
    expect(await status(`dns=${q.replace(/A/g, '%41')}`)).toEqual([200, 'NOERROR']);
    expect((await status(`dnsx=${q}`))[0]).toBe(400);
    expect((await status(`x=1&dns=${q}*`))[0]).toBe(400);
  });

  it('/dns-query on a hostname not in DOH_HOSTS is ordinary traffic', async () => {
    const res = await get(query('geo.doh.test'), {}, 'nobody.doh.test');
    expect([res.status, await res.text()]).toEqual([404, 'No load balancer is configured for host nobody.doh.test.\n']);
    expect(res.headers.get('content-type')).not.toBe('application/dns-message');
  });
});

describe('base64url by hand', () => {
  /** workerd's own decoder (TC39 Uint8Array.fromBase64), the reference: loose, so a last group may lack its padding. */
  const reference = (s: string) => {
    try {
      return (Uint8Array as unknown as { fromBase64(s: string, o: object): Uint8Array }).fromBase64(s, { alphabet: 'base64url', lastChunkHandling: 'loose' });
    } catch {
      return undefined;
    }
  };
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const b64 = (b: Uint8Array) =>
    btoa(String.fromCharCode(...b))
      .replace(/\+/g, '-')
      .replace(/\//g, '_');

  it('decodes what the reference decodes, padded or not, and refuses what it refuses (whitespace aside)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, padded) => {
        const s = padded ? b64(bytes) : b64(bytes).replace(/=+$/, '');
        expect(base64url(s)).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
    const near = fc.string({ unit: fc.constantFrom(...alphabet, '=', '+', '/', '*', '%', '\u00e9', '\u0100'), maxLength: 12 });
    fc.assert(
      fc.property(near, (s) => {
        expect(base64url(s)).toEqual(reference(s));
      }),
      { numRuns: 3000, seed: 4648 },
    );
  });
});
