import { describe, expect, it } from 'vitest';
import { compileCondition } from './index.ts';
import { compiled, view, type Sample } from './test-helpers.ts';

const browser: Sample = {
  url: 'https://app.example.com/api/v2/users?id=7&id=8&flag',
  headers: {
    accept: 'application/json',
    'user-agent': 'Mozilla/5.0 (iPhone) Mobile',
    referer: 'https://www.example.org/start',
    cookie: 'session=8521F670; theme=dark; a%20b=1; theme=light',
    'x-tenant': 'blue',
  },
  clientIp: '198.51.100.7',
  place: { country: 'DE', continent: 'EU', colo: 'FRA', longitude: 8.6 },
};
const plain: Sample = {
  url: 'http://Static.Example.com:8080/img/logo.PNG',
  method: 'HEAD',
  clientIp: '2001:db8:1::5',
  place: { country: 'US', continent: 'NA', colo: 'SJC', longitude: -121.9, region: 'WNAM' },
  loadBalancer: '*.example.com',
};
const bare: Sample = { url: 'https://app.example.com/', method: 'POST' };

// [expression, browser, plain, bare]: the expected result over each sample request.
const TABLE: [string, boolean, boolean, boolean][] = [
  ['http.host eq "app.example.com"', true, false, true],
  ['http.host == "static.example.com"', false, true, false],
  ['http.request.uri eq "/api/v2/users?id=7&id=8&flag"', true, false, false],
  ['http.request.uri.path eq "/api/v2/users"', true, false, false],
  ['http.request.uri.path ne "/"', true, true, false],
  ['http.request.uri.query eq "id=7&id=8&flag"', true, false, false],
  ['http.request.uri.query eq ""', false, true, true],
  ['http.request.full_uri eq "http://static.example.com:8080/img/logo.PNG"', false, true, false],
  ['http.request.method in {"GET" "HEAD"}', true, true, false],
  ['http.request.method != "POST"', true, true, false],
  ['http.request.uri.path contains "/v2/"', true, false, false],
  ['http.request.uri.path matches "^/api/v[0-9]+/"', true, false, false],
  ['http.request.uri.path ~ r"\\.(png|jpg)$"', false, false, false],
  ['lower(http.request.uri.path) ~ r"\\.(png|jpg)$"', false, true, false],
  ['http.request.uri.path matches "(?i)\\.png$"', false, true, false],
  ['http.request.full_uri wildcard "https://app.example.com/api/*"', true, false, false],
  ['http.request.full_uri wildcard "HTTP://*.EXAMPLE.COM:8080/*"', false, true, false],
  ['http.request.full_uri strict wildcard "HTTP://*.EXAMPLE.COM:8080/*"', false, false, false],
  ['http.request.uri.path lt "/b"', true, false, true],
  ['http.request.uri.path ge "/img"', false, true, false],
  ['http.user_agent contains "Mobile"', true, false, false],
  ['http.user_agent eq ""', false, true, true],
  ['http.referer eq "https://www.example.org/start"', true, false, false],
  ['http.cookie contains "session=8521F670"', true, false, false],
  ['any(http.request.cookies["theme"][*] == "light")', true, false, false],
  ['http.request.cookies["theme"][0] eq "dark"', true, false, false],
  ['len(http.request.cookies["theme"]) eq 2', true, false, false],
  ['http.request.cookies["a b"][0] eq "1"', true, false, false],
  ['http.request.uri.args["id"][1] eq "8"', true, false, false],
  ['any(http.request.uri.args.names[*] == "flag")', true, false, false],
  ['http.request.uri.args["flag"][0] eq ""', true, false, false],
  ['any(http.request.uri.args.values[*] in {"7" "9"})', true, false, false],
  ['ssl', true, false, true],
  ['not ssl', false, true, false],
  ['ip.src eq 198.51.100.7', true, false, false],
  ['ip.src ne 198.51.100.7', false, true, false],
  ['ip.src in {198.51.100.0/24 2001:db8::/32}', true, true, false],
  ['not ip.src in {198.51.100.0/24}', false, true, true],
  ['ip.src.country in {"DE" "FR"}', true, false, false],
  ['ip.src.country ne "DE"', false, true, false],
  ['ip.geoip.country eq "US"', false, true, false],
  ['ip.src.continent eq "EU"', true, false, false],
  ['ip.geoip.continent eq "NA"', false, true, false],
  ['cf.colo.name eq "SJC"', false, true, false],
  ['cf.load_balancer.name eq "*.example.com"', false, true, false],
  ['cf.load_balancer.region eq "WEU"', true, false, false],
  ['cf.load_balancer.region eq "WNAM"', false, true, false],
  ['upper(http.request.method) eq "GET"', true, false, false],
  ['starts_with(http.request.uri.path, "/api/")', true, false, false],
  ['ends_with(http.request.uri.path, ".PNG")', false, true, false],
  ['len(http.host) eq 15', true, false, true],
  ['len(http.host) in {1..10 15}', true, false, true],
  ['len(http.request.headers.names) ge 5', true, false, false],
];

describe('compileCondition: fields and operators over sample requests', () => {
  const samples = [view(browser), view(plain), view(bare)];
  it.each(TABLE)('%s', (expression, ...expected) => {
    const p = compiled(expression);
    expect(samples.map((r) => p(r))).toEqual(expected);
  });

  it('an empty or blank condition always matches (Cloudflare: "An empty condition is always true")', () => {
    for (const e of ['', '  \n\t']) {
      const c = compileCondition(e);
      expect(c.ok && c.predicate(view(bare))).toBe(true);
    }
  });
});

describe('precedence: not, then and, then xor, then or', () => {
  const T = 'http.host eq "app.example.com"';
  const F = 'http.host eq "nope"';
  const r = view(bare);
  const cases: [string, boolean][] = [
    ['T or T and F', true], // (T or (T and F)); left to right would be false
    ['(T or T) and F', false],
    ['F and F or T', true],
    ['not T and F', false],
    ['not (T and F)', true],
    ['not T or T', true], // (not T) or T; not over the whole would be false
    ['T or T xor T', true], // T or (T xor T); xor below or would be false
    ['T xor T or T', true], // (T xor T) or T; or above xor would be false
    ['F and T xor T', true], // (F and T) xor T; xor above and would be false
    ['T xor T and F', true],
    ['T xor T xor T', true],
    ['T ^^ T', false],
    ['! T && F || T', true],
    ['!(T || F) && T', false],
    ['not not T', true],
    ['T and T and T and F', false],
    ['F or F or F or T', true],
  ];
  it.each(cases)('%s', (shape, expected) => {
    expect(compiled(shape.replaceAll('T', T).replaceAll('F', F))(r)).toBe(expected);
  });
});

describe('header arrays (http.request.headers is Map<Array<String>>, keys lower case)', () => {
  const r = view({
    headers: [
      ['Accept', 'text/html'],
      ['accept', 'application/json'],
      ['X-Tenant', 'blue'],
    ],
  });
  it('reads values by lower-case name; the Fetch API joins a repeated header into one element', () => {
    expect(compiled('http.request.headers["accept"][0] eq "text/html, application/json"')(r)).toBe(true);
    expect(compiled('len(http.request.headers["accept"]) eq 1')(r)).toBe(true);
    expect(compiled('any(http.request.headers["x-tenant"][*] == "blue")')(r)).toBe(true);
    expect(compiled('all(http.request.headers["x-tenant"][*] in {"blue" "green"})')(r)).toBe(true);
    expect(compiled('all(http.request.headers["x-tenant"][*] contains "gr")')(r)).toBe(false);
  });
  it('a name with upper case is never present, as at Cloudflare', () => {
    expect(compiled('any(http.request.headers["X-Tenant"][*] == "blue")')(r)).toBe(false);
    expect(compiled('not any(http.request.headers["X-Tenant"][*] == "blue")')(r)).toBe(true);
  });
  it('a missing header or index makes every comparison false (so its negation true)', () => {
    for (const e of ['http.request.headers["x-none"][0] eq "a"', 'http.request.headers["x-none"][0] ne "a"', 'http.request.headers["x-tenant"][1] ne "a"']) {
      expect(compiled(e)(r), e).toBe(false);
      expect(compiled(`not ${e}`)(r), e).toBe(true);
    }
    expect(compiled('any(http.request.headers["x-none"][*] ne "a")')(r)).toBe(false);
    expect(compiled('all(http.request.headers["x-none"][*] ne "a")')(r)).toBe(false);
    expect(compiled('len(http.request.headers["x-none"]) ge 0')(r)).toBe(false);
  });
  it('[*] works through functions and logical operators element by element', () => {
    expect(compiled('any(lower(http.request.headers.names[*])[*] == "x-tenant")')(r)).toBe(true);
    expect(compiled('any(starts_with(http.request.headers.names[*], "x-"))')(r)).toBe(true);
    expect(compiled('any(len(http.request.headers.values[*])[*] eq 4)')(r)).toBe(true);
    expect(compiled('all(http.request.headers.names[*] ne "cookie" and not http.request.headers.names[*] eq "host")')(r)).toBe(true);
    expect(compiled('any(http.request.headers.names[*] eq "accept" xor http.request.headers.values[*] eq "blue")')(r)).toBe(true);
    expect(compiled('all(not http.request.headers.names[*] in {"cookie" "host"})')(r)).toBe(true);
    expect(compiled('any(not http.request.headers.names[*] in {"accept" "x-tenant"})')(r)).toBe(false);
    expect(compiled('all(not len(http.request.headers.values[*])[*] in {4 9})')(r)).toBe(false);
  });
});

describe('string literals', () => {
  const r = view({ url: 'https://app.example.com/a%22b/caf%C3%A9', headers: { 'x-q': 'say "hi" \\ é' } });
  it.each([
    ['http.request.headers["x-q"][0] eq "say \\"hi\\" \\\\ \\xC3\\xA9"', true], // \xHH bytes decoded as UTF-8
    ['http.request.headers["x-q"][0] eq "say \\042hi\\042 \\134 é"', true], // \ooo octal
    ['http.request.headers["x-q"][0] eq r#"say "hi" \\ é"#', true], // raw: no escapes
    ['http.request.headers["x-q"][0] eq r##"say "hi" \\ é"##', true],
    ['http.request.headers["x-q"][0] matches "\\"hi\\""', true], // \" in a quoted regex is a quote
    ['http.request.headers["x-q"][0] matches "[\\"]hi"', true], // inside a class the escape is kept for the regex
    ['http.request.headers["x-q"][0] matches r"\\\\ é$"', true],
    ['http.request.uri.path contains "%22"', true], // the path is not decoded
    ['len(http.request.headers["x-q"][0]) eq 13', true], // UTF-8 bytes: é is 2
  ])('%s', (expression, expected) => {
    expect(compiled(expression)(r)).toBe(expected);
  });
});

describe('lower() and upper()', () => {
  it('change ASCII letters only, and stay right when call sites and requests alternate (one memo shared by all)', () => {
    const lowerUa = compiled('lower(http.user_agent) eq "bot/1.0 ÄÖ"');
    const lowerHost = compiled('lower(http.host) eq "app.example.com"');
    const upperUa = compiled('upper(http.user_agent) eq "BOT/1.0 ÄÖ"');
    const upperAccented = compiled('upper(http.user_agent) eq "ÉCRAN"');
    const bot = view({ url: 'https://APP.Example.com/', headers: { 'user-agent': 'Bot/1.0 ÄÖ' } });
    const other = view({ url: 'https://app.example.com/', headers: { 'user-agent': 'écran' } });
    for (let i = 0; i < 3; i++) {
      expect([lowerUa(bot), lowerHost(bot), upperUa(bot), lowerHost(other), lowerUa(other), upperAccented(other)]).toEqual([
        true,
        true,
        true,
        true,
        false,
        false,
      ]);
      // 'é' is not ASCII: upper() leaves it ("éCRAN"), as Cloudflare's ASCII-only upper() does.
      expect(compiled('upper(http.user_agent) eq "éCRAN"')(other)).toBe(true);
    }
  });
});

describe('lazy request view', () => {
  it('reads only what a condition asks for', () => {
    const asked: string[] = [];
    const place = {
      get country() {
        asked.push('country');
        return 'DE';
      },
      get colo() {
        asked.push('colo');
        return 'FRA';
      },
    };
    const r = view({ place });
    expect(compiled('http.host eq "app.example.com" or ip.src.country eq "DE"')(r)).toBe(true);
    expect(asked).toEqual([]); // `or` stopped at the first comparison
    expect(compiled('cf.colo.name eq "FRA"')(r)).toBe(true);
    expect(asked).toEqual(['colo']);
  });
});
