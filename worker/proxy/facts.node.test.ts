import { describe, expect, it } from 'vitest';
import { PlaceMemo } from '../../core/steer/place-memo.ts';
import { splitUrl } from '../../core/forward/index.ts';
import { HttpFacts } from './facts.ts';

/** A real Request whose `cf` (Cloudflare's request.cf) is `cf`, counting how often it is read. */
function request(ip: string | undefined, cf: object, reads: { n: number }): Request {
  const r = new Request('https://lb.example/', { headers: ip ? { 'cf-connecting-ip': ip } : {} });
  Object.defineProperty(r, 'cf', { get: () => (reads.n++, cf) });
  return r;
}

describe('HttpFacts place', () => {
  const DE = { country: 'DE', continent: 'EU', colo: 'FRA', latitude: '50.11', longitude: '8.68' };
  const US = { country: 'US', continent: 'NA', colo: 'IAD', latitude: '38.9', longitude: '-77.0' };
  const facts = (r: Request, source?: { places?: PlaceMemo; now(): number }) => new HttpFacts(r, splitUrl(r.url), source);
  const read = (f: HttpFacts) => [f.place.country, f.place.continent, f.place.colo, f.place.latitude, f.place.longitude];

  it('reads request.cf once per address within the TTL, and again after it or for another address', () => {
    const [places, reads] = [new PlaceMemo(100, 1000), { n: 0 }];
    let t = 0;
    const source = { places, now: () => t };
    expect(read(facts(request('192.0.2.1', DE, reads), source))).toEqual(['DE', 'EU', 'FRA', 50.11, 8.68]);
    expect(read(facts(request('192.0.2.1', US, reads), source))).toEqual(['DE', 'EU', 'FRA', 50.11, 8.68]); // remembered
    expect(reads.n).toBe(1);
    expect(read(facts(request('192.0.2.2', US, reads), source))[0]).toBe('US');
    t = 1000;
    expect(read(facts(request('192.0.2.1', US, reads), source))[0]).toBe('US');
    expect(reads.n).toBe(3);
  });

  it('reads request.cf for each request without a client address or without a memo', () => {
    const reads = { n: 0 };
    const source = { places: new PlaceMemo(), now: () => 0 };
    expect([read(facts(request(undefined, DE, reads), source))[0], read(facts(request(undefined, US, reads), source))[0]]).toEqual(['DE', 'US']);
    expect([read(facts(request('192.0.2.1', DE, reads)))[0], read(facts(request('192.0.2.1', US, reads)))[0]]).toEqual(['DE', 'US']);
    expect(reads.n).toBe(4);
  });
});

describe('HttpFacts rule view', () => {
  /** A real Request counting reads of `method`, `headers` and `cf` (each a call into the runtime in workerd). */
  function counted(): { r: Request; reads: Record<string, number> } {
    const r = new Request('https://lb.example/a?b=1', { method: 'PUT', headers: { 'cf-connecting-ip': '192.0.2.9', 'x-team': 'blue' } });
    const reads: Record<string, number> = { method: 0, headers: 0, cf: 0 };
    const headers = r.headers;
    Object.defineProperty(r, 'method', { get: () => (reads.method!++, 'PUT') });
    Object.defineProperty(r, 'headers', { get: () => (reads.headers!++, headers) });
    Object.defineProperty(r, 'cf', { get: () => (reads.cf!++, { country: 'DE' }) });
    return { r, reads };
  }

  it('reads the method, headers and place only when a field needs them, and each once', () => {
    const { r, reads } = counted();
    const f = new HttpFacts(r, splitUrl(r.url));
    const view = f.ruleView('lb.example');
    expect([view.path, view.query, view.host]).toEqual(['/a', 'b=1', 'lb.example']);
    expect(reads).toEqual({ method: 0, headers: 0, cf: 0 });
    expect([view.method, view.method, view.header('x-team'), view.ip?.words, view.country, view.country]).toEqual([
      'PUT',
      'PUT',
      ['blue'],
      [0xc0000209],
      'DE',
      'DE',
    ]);
    expect([f.clientIp, f.header('x-team')]).toEqual(['192.0.2.9', 'blue']);
    expect(reads).toEqual({ method: 1, headers: 1, cf: 1 });
    expect(f.ruleView('lb.example')).toBe(view);
  });
});
