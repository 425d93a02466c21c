import { describe, expect, it } from 'vitest';
import { splitUrl } from '../forward/index.ts';
import { RuleRequest } from './index.ts';
import { compiled, view } from './test-helpers.ts';

/** Headers that count the reads rules make: get() calls and forEach passes. */
const counts = {
  gets: 0,
  passes: 0,
  reset() {
    [this.gets, this.passes] = [0, 0];
  },
};
class CountingHeaders extends Headers {
  override get(name: string): string | null {
    counts.gets++;
    return super.get(name);
  }
  override forEach(f: (value: string, key: string, parent: Headers) => void): void {
    counts.passes++;
    super.forEach(f);
  }
}

describe('RuleRequest', () => {
  it('splits the URI into path and query as the runtime serializes request.url', () => {
    const r = new RuleRequest({ url: splitUrl('https://a.example.com:8443/x/y?q=1&r'), method: 'GET', headers: new Headers(), loadBalancer: 'lb' });
    expect([r.host, r.uri, r.path, r.query, r.fullUri, r.ssl]).toEqual([
      'a.example.com',
      '/x/y?q=1&r',
      '/x/y',
      'q=1&r',
      'https://a.example.com:8443/x/y?q=1&r',
      true,
    ]);
    expect([r.argNames, r.argValues, r.arg('r'), r.arg('s')]).toEqual([['q', 'r'], ['1', ''], [''], undefined]);
  });

  it('reads the headers once per request (one pass), however many rules ask', () => {
    counts.reset();
    const r = new RuleRequest({
      url: splitUrl('https://a.example.com/'),
      method: 'GET',
      headers: new CountingHeaders({ 'x-tenant': 'blue', 'X-Other': 'x' }),
      loadBalancer: 'lb',
    });
    const rules = [
      'any(http.request.headers["x-tenant"][*] == "blue")',
      'http.request.headers["x-tenant"][0] eq "red"',
      'http.request.headers["x-none"][0] eq "a"',
      'http.request.headers["x-other"][0] eq "x"',
      'http.request.headers["X-Other"][0] eq "x"', // keys are lower case: an upper-case key is never present
    ].map(compiled);
    for (let i = 0; i < 3; i++) expect(rules.map((p) => p(r))).toEqual([true, false, false, true, false]);
    expect([counts.gets, counts.passes]).toEqual([0, 1]);
  });

  it('with headerGets, reads the first names by get() and then every field in one pass, each once', () => {
    counts.reset();
    const request = () =>
      new RuleRequest({
        url: splitUrl('https://a.example.com/'),
        method: 'GET',
        headers: new CountingHeaders({ 'x-tenant': 'blue', 'X-Other': 'x', a: '1', b: '2' }),
        loadBalancer: 'lb',
        headerGets: 4,
      });
    const few = ['x-tenant', 'x-none', 'x-other', 'X-Other'].map((n) => compiled(`http.request.headers["${n}"][0] ne "?"`));
    const r = request();
    for (let i = 0; i < 3; i++) expect(few.map((p) => p(r))).toEqual([true, false, true, false]);
    expect([counts.gets, counts.passes]).toEqual([3, 0]); // an upper-case key is never present: no get()

    // A fifth distinct name: one pass, nothing read again, the names read apart not doubled.
    const many = ['x-tenant', 'x-none', 'x-other', 'X-Other', 'a', 'b', 'c'].map((n) => compiled(`http.request.headers["${n}"][0] ne "?"`));
    counts.reset();
    const s = request();
    for (let i = 0; i < 3; i++) expect(many.map((p) => p(s))).toEqual([true, false, true, false, true, true, false]);
    expect([counts.gets, counts.passes]).toEqual([3, 1]);
    expect(['x-tenant', 'x-other', 'a', 'b', 'c', 'X-Other'].map((n) => s.header(n))).toEqual([['blue'], ['x'], ['1'], ['2'], undefined, undefined]);
  });

  it('sees repeated fields joined with ", ", as Headers.get gives them', () => {
    const headers = new Headers([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['accept', 'text/html'],
      ['accept', '*/*'],
    ]);
    const r = new RuleRequest({ url: splitUrl('https://a.example.com/'), method: 'GET', headers, loadBalancer: 'lb' });
    for (const name of ['set-cookie', 'accept']) expect(r.header(name)).toEqual([headers.get(name)]);
  });

  it('cf.load_balancer.region: the given region, else derived from the place (core/steer/regions), else missing', () => {
    const region = compiled('cf.load_balancer.region eq "WNAM"');
    expect(region(view({ place: { region: 'WNAM', country: 'DE' } }))).toBe(true);
    expect(region(view({ place: { country: 'US', longitude: -122.4 } }))).toBe(true);
    expect(region(view({ place: { country: 'US', longitude: -74 } }))).toBe(false);
    expect(compiled('cf.load_balancer.region eq "WEU"')(view({ place: { country: 'DE' } }))).toBe(true);
    expect(compiled('cf.load_balancer.region ne "WEU"')(view({}))).toBe(false); // unknown: missing
  });

  it('cookies: names URL-decoded, repeated names merged in order, values as sent', () => {
    const r = view({ headers: { cookie: 'a%3Db=1; theme=dark;theme=%6Cight; bad%=x; =novalue; flag' } });
    expect([r.cookies('a=b'), r.cookies('theme'), r.cookies('bad%'), r.cookies('flag')]).toEqual([['1'], ['dark', '%6Cight'], ['x'], undefined]);
    expect(r.cookie).toBe('a%3Db=1; theme=dark;theme=%6Cight; bad%=x; =novalue; flag');
  });
});
