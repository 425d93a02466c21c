/**
 * The hand-written wire format against the codec: the common query read by hand must be read
 * exactly as the codec path reads it (and must be taken for the queries resolvers send), and
 * every response must be the bytes the codec encodes for the same message.
 */
import * as dnsPacket from '@dnsquery/dns-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeQuery, encodeResponse, parseQuery, readCommonQuery, recordOf, RCODE, type AnswerRecord, type Query, type Rcode } from './index.ts';
import { EDNS_PAYLOAD_SIZE, type QueryEcho } from './message.ts';
import { query } from './test-fixtures.ts';

/** The response as the codec encodes it: the reference the hand encoder must match byte for byte. */
function codecResponse(echo: QueryEcho, rcode: Rcode, answer: AnswerRecord | undefined, opts: { authoritative?: boolean; ecsScope?: number }): Uint8Array {
  const code = RCODE[rcode];
  const q = echo.rawQuestion;
  const ecs = echo.edns?.ecs;
  const option = ecs && {
    code: 8,
    family: ecs.family,
    sourcePrefixLength: ecs.sourcePrefixLength,
    scopePrefixLength: opts.ecsScope ?? 0,
    ip: ecs.address,
  };
  const name = q ? dnsPacket.name.decode(q, 0) : '';
  const codec = (answer?.type === 'A' ? dnsPacket.a : answer?.type === 'AAAA' ? dnsPacket.aaaa : dnsPacket.cname) as dnsPacket.Codec<unknown>;
  const answers = answer ? [{ type: answer.type, name, ttl: answer.ttl, class: 'IN', data: codec.decode(answer.rdata) }] : [];
  const opt = {
    type: 'OPT',
    name: '.',
    udpPayloadSize: EDNS_PAYLOAD_SIZE,
    extendedRcode: code >> 4,
    ednsVersion: 0,
    flags: 0,
    options: option ? [option] : [],
  };
  const body = dnsPacket.encode({
    type: 'response',
    id: echo.id,
    flags: (opts.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | echo.flags | (code & 0xf),
    questions: [],
    answers: answers as dnsPacket.Answer[],
    additionals: echo.edns ? [opt as unknown as dnsPacket.Answer] : [],
  });
  if (!q) return body;
  return new Uint8Array([...body.subarray(0, 5), 1, ...body.subarray(6, 12), ...q, ...body.subarray(12)]);
}

const label = fc.stringMatching(/^[a-zA-Z0-9_*-]{1,12}$/);
const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('.'));
/** Client subnets; the codec does not zero the bits past a prefix, so prefixes are whole bytes or fixed. */
const ecs = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 4 })).map(([ip, p]) => `${ip}/${p * 8}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 16 })).map(([ip, p]) => `${ip}/${p * 8}`),
  fc.constantFrom('198.51.96.0/20', '2001:db8:8000::/33', '192.0.2.128/25'),
);
/** Queries as a resolver sends them: a name of plain labels, a type, maybe EDNS and ECS (zeroed past the prefix by the codec). */
const common = fc
  .tuple(name, fc.constantFrom('A', 'AAAA', 'CNAME', 'MX', 'ANY'), fc.integer({ min: 0, max: 0xffff }), fc.option(ecs), fc.boolean())
  .map(([n, type, id, subnet, edns]) => query(n, type as dnsPacket.RecordType, { id, ecs: subnet ?? undefined, edns }));

describe('reading the common query by hand', () => {
  it('takes the queries resolvers send, and reads them as the codec path does', () => {
    fc.assert(
      fc.property(common, (bytes) => {
        const fast = readCommonQuery(bytes);
        expect(fast).toBeDefined();
        expect({ ok: true, query: fast }).toEqual(decodeQuery(bytes));
      }),
      { numRuns: 2000, seed: 1035 },
    );
  });

  it('whatever it takes from mutated queries, the codec path reads the same; the rest it leaves to the codec', () => {
    const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 });
    const tail = fc.oneof({ weight: 3, arbitrary: fc.constant(new Uint8Array(0)) }, fc.uint8Array({ minLength: 1, maxLength: 4 }));
    const mutated = fc.tuple(common, flips, tail).map(([q, flips, tail]) => {
      const b = new Uint8Array([...q, ...tail]);
      for (const [at, v] of flips) b[at % b.length] = v;
      return b;
    });
    let taken = 0;
    fc.assert(
      fc.property(mutated, (bytes) => {
        const fast = readCommonQuery(bytes);
        if (fast) (taken++, expect({ ok: true, query: fast }).toEqual(decodeQuery(bytes)));
        else expect(parseQuery(bytes)).toEqual(decodeQuery(bytes));
      }),
      { numRuns: 5000, seed: 6891 },
    );
    expect(taken).toBeGreaterThan(500); // flips in the ID, the name's letters, QTYPE or QCLASS keep the common shape
  });

  it('leaves the uncommon to the codec: compression, a dot or a byte outside ASCII in a label, the root, two OPT records, EDNS version 1, odd options, a name past 254 bytes', () => {
    const q = query('dns.example.com', 'A', { edns: true });
    const plain = query('dns.example.com');
    const ecs = [0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2];
    /** The query with an OPT record whose RDATA is `rdata` (RDLENGTH says `length`). */
    const withOpt = (rdata: number[], length = rdata.length) =>
      new Uint8Array([...plain.slice(0, 11), 1, ...plain.slice(12), 0, 0, 41, 4, 208, 0, 0, 0, 0, length >> 8, length & 0xff, ...rdata]);
    const cases = [
      new Uint8Array([...plain.slice(0, 12), 0xc0, 0x0c, 0, 1, 0, 1]), // a pointer
      new Uint8Array([...plain.slice(0, 12), 7, ...new TextEncoder().encode('dns.exa'), 0, 0, 1, 0, 1]),
      new Uint8Array([...plain.slice(0, 12), 3, 0x64, 0xc3, 0xa9, 0, 0, 1, 0, 1]), // "dé"
      query('.'),
      new Uint8Array([...q.slice(0, 11), 2, ...q.slice(12), ...q.slice(q.length - 11)]),
      q.map((b, i) => (i === q.length - 5 ? 1 : b)), // the OPT record's version byte
      withOpt([...ecs, ...ecs]), // two Client Subnet options
      withOpt([...ecs, 0], 12), // a byte after the last option
      withOpt(ecs.slice(0, 9), 9), // an option longer than the RDATA
      withOpt([0, 8, 0, 7, 0, 1, 20, 0, 192, 0, 0x21]), // ECS with a bit past its /20
      query(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(62)].join('.')), // labels of 255 bytes
    ];
    for (const bytes of cases) {
      expect(readCommonQuery(bytes)).toBeUndefined();
      expect(parseQuery(bytes)).toEqual(decodeQuery(bytes));
    }
    expect(parseQuery(cases[0]!)).toMatchObject({ ok: false, rcode: 'FORMERR' }); // a pointer may only point back
    expect(parseQuery(cases[5]!)).toMatchObject({ ok: false, rcode: 'BADVERS' });
    for (const bytes of cases.slice(6)) expect(parseQuery(bytes)).toMatchObject({ ok: false, rcode: 'FORMERR' });
    const longest = query(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.')); // labels of 254 bytes: the codec's limit
    expect(readCommonQuery(longest)).toBeDefined();
    expect({ ok: true, query: readCommonQuery(longest) }).toEqual(decodeQuery(longest));
    expect(readCommonQuery(withOpt(ecs))).toMatchObject({ edns: { version: 0, ecs: { family: 1, sourcePrefixLength: 24, address: '192.0.2.0' } } });
  });
});

describe('writing responses by hand', () => {
  const origins = fc.constantFrom('192.0.2.1', '2001:db8::1', '2001:db8:0:0:1::ff', 'origin.example.net', '10.255.0.7');
  const rcodes = fc.constantFrom(...(Object.keys(RCODE) as Rcode[]));
  it('every response is the codec encoding of the same message, byte for byte', () => {
    fc.assert(
      fc.property(
        common,
        rcodes,
        fc.option(origins),
        fc.nat({ max: 2 ** 31 - 1 }),
        fc.boolean(),
        fc.nat({ max: 128 }),
        (bytes, rcode, address, ttl, authoritative, ecsScope) => {
          const q = readCommonQuery(bytes)!;
          const answer = address ? { ...recordOf({ address } as Parameters<typeof recordOf>[0]), ttl } : undefined;
          expect(encodeResponse(q, rcode, answer, { authoritative, ecsScope })).toEqual(codecResponse(q, rcode, answer, { authoritative, ecsScope }));
        },
      ),
      { numRuns: 2000, seed: 7871 },
    );
  });

  it('a failure without a question: the header alone, with ID, RD and CD', () => {
    const echo: QueryEcho = { id: 0xbeef, flags: 0x0110 };
    expect(encodeResponse(echo, 'FORMERR')).toEqual(codecResponse(echo, 'FORMERR', undefined, {}));
    const q = parseQuery(query('dns.example.com', 'A', { edns: true })) as { ok: true; query: Query };
    expect(encodeResponse({ ...q.query, edns: { version: 1 } }, 'BADVERS')).toEqual(
      codecResponse({ ...q.query, edns: { version: 1 } }, 'BADVERS', undefined, {}),
    );
  });
});
