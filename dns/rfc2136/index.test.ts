/**
 * The RFC 2136 provider against a real BIND9 (test/fixtures/bind9.ts): the shared provider
 * contract, then what only dynamic update has, checked with `dig` from outside: TSIG key and
 * clock failures, prerequisites, hmac-sha512, and a tampered or unsigned answer.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
// BIND9 and the node:net transport are Node fixtures (test/); only the tests import them.
import { startBind9, type Bind9 } from '../../test/fixtures/bind9.ts';
import { nodeDnsTransport, tamperingTransport } from '../../test/fixtures/dns-tcp.ts';
import { a, aaaa, cname, converge, OWNER, plan, providerContract, rejection } from '../provider.case.test.ts';
import type { DnsRecord } from '../provider.ts';
import { rfc2136Provider, type Rfc2136Options } from './index.ts';
import type { DnsTransport } from './transport.ts';
import { ownerName, ownerText } from './update.ts';

let bind: Bind9;
beforeAll(async () => void (bind = await startBind9()));
afterAll(() => bind?.stop());

const provider = (b: Bind9, over: Partial<Rfc2136Options> = {}) =>
  rfc2136Provider({
    zone: b.zone,
    server: b.host,
    port: b.port,
    keyName: b.keyName,
    algorithm: b.algorithm,
    secret: b.secret,
    transport: nodeDnsTransport(),
    ...over,
  });
const rr = (r: DnsRecord) => `${r.name} ${r.ttl} ${r.type} ${r.content}`;

providerContract('rfc2136 (BIND9)', async () => ({
  provider: provider(bind),
  zone: bind.zone,
  plantForeign: (record) => bind.nsupdate(`update add ${rr(record)}`),
  async changeBehind(name) {
    // What another edge-lb with the same owner id would do: replace one of our records, with its TXT.
    const [ours] = (await provider(bind).read(name, OWNER)).records;
    if (!ours) throw new Error(`no record of ours at ${name}`);
    const changed = { ...ours, content: ours.type === 'CNAME' ? `changed.${ours.content}` : ours.type === 'A' ? '203.0.113.254' : '2001:db8::fe' };
    const txt = (r: DnsRecord) => `${ownerName(name)} ${r.ttl} TXT "${ownerText(OWNER, r)}"`;
    await bind.nsupdate(`update delete ${rr(ours)}\nupdate delete ${txt(ours)}\nupdate add ${rr(changed)}\nupdate add ${txt(changed)}`);
  },
  close: async () => {},
}));

describe('rfc2136 provider against BIND9', () => {
  test('publishes A, AAAA and CNAME that dig sees, with their ownership TXTs', async () => {
    const p = provider(bind);
    const name = `pub.${bind.zone}`;
    const alias = `pub-alias.${bind.zone}`;
    await converge(p, name, OWNER, [a(name, '192.0.2.21'), a(name, '192.0.2.22'), aaaa(name, '2001:db8::21')]);
    await converge(p, alias, OWNER, [cname(alias, 'origin.example.net')]);
    expect(await bind.dig(name, 'A')).toEqual(['192.0.2.21', '192.0.2.22']);
    expect(await bind.dig(name, 'AAAA')).toEqual(['2001:db8::21']);
    expect(await bind.dig(alias, 'CNAME')).toEqual(['origin.example.net.']);
    expect(await bind.dig(ownerName(name), 'TXT')).toHaveLength(3);
    expect(await bind.dig(ownerName(alias), 'TXT')).toEqual([
      `"heritage=edge-lb,edge-lb/owner=contract,edge-lb/load-balancer=lb-1,edge-lb/record=CNAME origin.example.net"`,
    ]);
  });

  test('replaces a set: the old records go, the new ones come, records at other names stay', async () => {
    const p = provider(bind);
    const name = `rep.${bind.zone}`;
    const untouched = async () => [
      await bind.dig(`www.${bind.zone}`, 'A'),
      await bind.dig(`other.${bind.zone}`, 'A'),
      await bind.dig(`taken.${bind.zone}`, 'A'),
    ];
    const others = await untouched();
    await converge(p, name, OWNER, [a(name, '192.0.2.31'), a(name, '192.0.2.32')]);
    await converge(p, name, OWNER, [a(name, '192.0.2.33'), aaaa(name, '2001:db8::33')]);
    expect([await bind.dig(name, 'A'), await bind.dig(name, 'AAAA')]).toEqual([['192.0.2.33'], ['2001:db8::33']]);
    expect(await bind.dig(ownerName(name), 'TXT')).toHaveLength(2);
    expect(await untouched()).toEqual(others);
    expect(others).toEqual([['192.0.2.10'], ['192.0.2.11'], ['192.0.2.12']]);
  });

  test('a name with a record nobody owns reads as foreign, and we never remove that record', async () => {
    const p = provider(bind);
    const name = `taken.${bind.zone}`;
    expect(await p.read(name, OWNER)).toMatchObject({ records: [], foreign: 1 });
    await rejection(p.apply(plan(name, OWNER, await p.read(name, OWNER), [a(name, '192.0.2.12')])), 'invalid');
    expect(await bind.dig(name, 'A')).toEqual(['192.0.2.12']);
  });

  test('a CNAME where other data is would be skipped by the server: refused as invalid', async () => {
    const p = provider(bind);
    const name = `cname-clash.${bind.zone}`;
    await bind.nsupdate(`update add ${name} 300 TXT "someone else's"`);
    const error = await rejection(p.apply(plan(name, OWNER, await p.read(name, OWNER), [cname(name, 'origin.example.net')])), 'invalid');
    expect(error.message).toMatch(/CNAME .* cannot share/);
    expect(await bind.dig(name, 'CNAME')).toEqual([]);
  });

  test('publishes at a wildcard name', async () => {
    const name = `*.wild.${bind.zone}`;
    expect((await converge(provider(bind), name, OWNER, [a(name, '192.0.2.81')])).records).toEqual([a(name, '192.0.2.81')]);
    expect(await bind.dig(`anything.wild.${bind.zone}`, 'A')).toEqual(['192.0.2.81']);
  });

  test('a change behind our back (nsupdate) makes apply a conflict that changes nothing', async () => {
    const p = provider(bind);
    const name = `behind.${bind.zone}`;
    const before = await converge(p, name, OWNER, [a(name, '192.0.2.41')]);
    await bind.nsupdate(`update add ${name} 300 AAAA 2001:db8::41`);
    const error = await rejection(p.apply(plan(name, OWNER, before, [a(name, '192.0.2.42')])), 'conflict');
    expect(error.message).toMatch(/prerequisite/);
    expect([await bind.dig(name, 'A'), await bind.dig(name, 'AAAA')]).toEqual([['192.0.2.41'], ['2001:db8::41']]);
    // Nothing there when read: "RRset does not exist" holds it too.
    const empty = `late.${bind.zone}`;
    const none = await p.read(empty, OWNER);
    await bind.nsupdate(`update add ${empty} 300 A 198.51.100.41`);
    await rejection(p.apply(plan(empty, OWNER, none, [a(empty, '192.0.2.43')])), 'conflict');
    expect(await bind.dig(empty, 'A')).toEqual(['198.51.100.41']);
  });

  test('a wrong secret or key name is refused as auth, naming the key and never the secret; the zone is unchanged', async () => {
    const name = `auth.${bind.zone}`;
    const wrongSecret = Buffer.from('not the secret, 32 bytes long!!!').toString('base64');
    for (const [over, code] of [
      [{ secret: wrongSecret }, /BADSIG/],
      [{ keyName: 'unknown-key' }, /BADKEY/],
    ] as const) {
      const p = provider(bind, over);
      const error = await rejection(p.apply(plan(name, OWNER, { records: [], foreign: 0 }, [a(name, '192.0.2.51')])), 'auth');
      expect(error.message).toContain(over.keyName ?? bind.keyName);
      expect(error.message).toMatch(code);
      expect(error.message).not.toContain(over.secret ?? bind.secret);
      await rejection(p.read(name, OWNER), 'auth');
    }
    expect(await bind.dig(name, 'A')).toEqual([]);
    const unusable = await rejection(provider(bind, { secret: 'not base64!' }).read(name, OWNER), 'auth');
    expect(unusable.message).toMatch(/TSIG key edge-lb-test-key is unusable.*base64/);
  });

  test('a clock beyond the fudge is refused as BADTIME', async () => {
    const p = provider(bind, { now: () => Date.now() - 3_600_000 });
    const error = await rejection(p.read(`www.${bind.zone}`, OWNER), 'auth');
    expect(error.message).toMatch(/BADTIME.*clock/);
  });

  test('an answer with a tampered MAC, or none, is rejected as auth', async () => {
    const name = `tamper.${bind.zone}`;
    for (const [how, message] of [
      ['flip-mac', /does not verify/],
      ['strip-tsig', /not signed/],
    ] as const) {
      const p = provider(bind, { transport: tamperingTransport(nodeDnsTransport(), how) });
      await rejection(p.read(name, OWNER), 'auth').then((e) => expect(e.message).toMatch(message));
    }
    const untampered: DnsTransport = tamperingTransport(nodeDnsTransport(), 'none');
    expect(await provider(bind, { transport: untampered }).read(name, OWNER)).toMatchObject({ records: [], foreign: 0 });
  });

  test('an unreachable server is unreachable, a deaf one times out', async () => {
    const closed = provider(bind, { port: 1 });
    expect((await rejection(closed.read(`www.${bind.zone}`, OWNER), 'unreachable')).message).toMatch(/cannot connect/);
    const deaf: DnsTransport = { connect: async () => ({ write: async () => {}, read: () => new Promise(() => {}), close: () => {} }) };
    expect((await rejection(provider(bind, { transport: deaf, timeoutMs: 100 }).read(`www.${bind.zone}`, OWNER), 'unreachable')).message).toMatch(/100 ms/);
  });

  test('hmac-sha512 keys work', async () => {
    const b512 = await startBind9({ algorithm: 'hmac-sha512' });
    try {
      const name = `sha512.${b512.zone}`;
      const after = await converge(provider(b512), name, OWNER, [a(name, '192.0.2.61')]);
      expect(after.records).toEqual([a(name, '192.0.2.61')]);
      expect(await b512.dig(name, 'A')).toEqual(['192.0.2.61']);
    } finally {
      await b512.stop();
    }
  });
});
