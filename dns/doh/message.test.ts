/**
 * Malformed and unusual queries: the RCODE each gets, and a fast-check fuzz of the parser (any
 * bytes, and mutations of valid queries) that never throws and always answers a message the
 * codec reads back with the query's ID.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answerDoh, parseQuery, type DohAnswer } from './index.ts';
import { context, decode, query } from './test-fixtures.ts';

const rcodeOf = async (bytes: Uint8Array) => {
  const a = (await answerDoh(bytes, context())) as DohAnswer | undefined;
  return (
    a && {
      rcode: decode(a.message).rcode,
      id: decode(a.message).id,
      extended: (decode(a.message).additionals?.[0] as { extendedRcode?: number })?.extendedRcode,
    }
  );
};
const bytes = (...b: number[]) => new Uint8Array(b);
/** A query's bytes with `edit` applied to a copy. */
const edited = (q: Uint8Array, edit: (b: Uint8Array) => void) => {
  const c = q.slice();
  edit(c);
  return c;
};
/** A query whose OPT record carries one option (code, data) as raw bytes. */
function withOption(code: number, data: number[], version = 0): Uint8Array {
  const q = query('dns.example.com');
  const head = q.slice();
  head[11] = 1; // ARCOUNT
  const opt = [0, 0, 41, 0x10, 0x00, 0, version, 0, 0, 0, 4 + data.length, code >> 8, code & 0xff, data.length >> 8, data.length & 0xff, ...data];
  return new Uint8Array([...head, ...opt]);
}

describe('RCODEs for malformed input', () => {
  it('no ID readable (0 or 1 byte): undefined, the caller answers HTTP 400', () => {
    expect(parseQuery(bytes())).toBeUndefined();
    expect(parseQuery(bytes(0x12))).toBeUndefined();
  });

  it('an ID but garbage: FORMERR with that ID', async () => {
    expect(await rcodeOf(bytes(0x12, 0x34))).toEqual({ rcode: 'FORMERR', id: 0x1234, extended: undefined });
    expect(await rcodeOf(bytes(0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff))).toMatchObject({ rcode: 'FORMERR', id: 0x1234 }); // a bad label
    expect(await rcodeOf(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'))).toMatchObject({ rcode: 'NOTIMP', id: 0x4745 }); // "T " reads as OPCODE 10
    const q = query('dns.example.com', 'A', { id: 99 });
    expect(await rcodeOf(q.slice(0, q.length - 1))).toMatchObject({ rcode: 'FORMERR', id: 99 }); // truncated
    expect(await rcodeOf(new Uint8Array([...q, 0]))).toMatchObject({ rcode: 'FORMERR', id: 99 }); // trailing byte
    expect(await rcodeOf(edited(q, (b) => (b[5] = 2)))).toMatchObject({ rcode: 'FORMERR' }); // QDCOUNT 2
    expect(await rcodeOf(edited(q, (b) => (b[5] = 0)))).toMatchObject({ rcode: 'FORMERR' }); // QDCOUNT 0 (and trailing bytes)
    expect(await rcodeOf(edited(q, (b) => (b[2]! |= 0x80)))).toMatchObject({ rcode: 'FORMERR' }); // QR: a response
  });

  it('OPCODE other than QUERY: NOTIMP', async () => {
    expect(await rcodeOf(edited(query('dns.example.com'), (b) => (b[2]! |= 5 << 3)))).toMatchObject({ rcode: 'NOTIMP' }); // UPDATE
  });

  it('EDNS: version 1 is BADVERS (extended RCODE 16); two OPT records FORMERR', async () => {
    expect(await rcodeOf(withOption(65001, [], 1))).toMatchObject({ rcode: 'NOERROR', extended: 1 }); // 16 = 1 << 4 | 0
    const one = withOption(65001, []);
    const opt = one.slice(one.length - 15);
    expect(await rcodeOf(new Uint8Array([...edited(one, (b) => (b[11] = 2)), ...opt]))).toMatchObject({ rcode: 'FORMERR' });
    expect(await rcodeOf(withOption(65001, [1, 2, 3]))).toMatchObject({ rcode: 'NOERROR' }); // unknown options are ignored
  });

  it('ECS (RFC 7871 §6): unknown family, prefix too long, wrong address length, bits past the prefix, two options: FORMERR', async () => {
    expect(await rcodeOf(withOption(8, [0, 1, 24, 0, 192, 0, 2]))).toMatchObject({ rcode: 'NOERROR' }); // well-formed
    expect(await rcodeOf(withOption(8, [0, 3, 24, 0, 192, 0, 2]))).toMatchObject({ rcode: 'FORMERR' });
    expect(await rcodeOf(withOption(8, [0, 1, 33, 0, 192, 0, 2, 1, 0]))).toMatchObject({ rcode: 'FORMERR' });
    expect(await rcodeOf(withOption(8, [0, 1, 24, 0, 192, 0, 2, 0]))).toMatchObject({ rcode: 'FORMERR' });
    expect(await rcodeOf(withOption(8, [0, 1, 24, 0, 192, 0]))).toMatchObject({ rcode: 'FORMERR' });
    expect(await rcodeOf(withOption(8, [0, 1, 20, 0, 192, 0, 0x21]))).toMatchObject({ rcode: 'FORMERR' }); // 0x21: bit 24 set past /20
    expect(await rcodeOf(withOption(8, [0, 1]))).toMatchObject({ rcode: 'FORMERR' });
  });

  it('a label holding a dot is not the hostname it reads as: REFUSED, the question repeated byte for byte', async () => {
    // \003dns\007example\003com spelled as \013dns.example\003com.
    const q = query('dns.example.com');
    const odd = new Uint8Array([...q.slice(0, 12), 11, ...new TextEncoder().encode('dns.example'), 3, ...new TextEncoder().encode('com'), 0, 0, 1, 0, 1]);
    const a = (await answerDoh(odd, context())) as DohAnswer;
    expect(decode(a.message).rcode).toBe('REFUSED');
    expect(a.message.slice(12, 12 + odd.length - 12)).toEqual(odd.slice(12));
  });
});

describe('fuzz', () => {
  const answer = (b: Uint8Array) => answerDoh(b, context({ draws: [0.1, 0.6] }));
  const check = async (b: Uint8Array) => {
    const a = await answer(b);
    if (b.length < 2) {
      expect(a).toBeUndefined();
      return;
    }
    const m = decode(a!.message);
    expect(m.id).toBe((b[0]! << 8) | b[1]!);
    expect(m.type).toBe('response');
  };
  const seeds = [
    query('dns.example.com'),
    query('a.wild.example.com', 'AAAA', { ecs: '2001:db8::/32' }),
    query('always.example.com', 'A', { ecs: '198.51.100.0/24' }),
    withOption(8, [0, 1, 24, 0, 192, 0, 2]),
  ];
  it('any bytes: never throws; a message with the ID whenever 2 bytes exist, else undefined', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), check), { numRuns: 3000, seed: 8484 });
  });

  it('valid queries with bytes flipped, cut or appended: never throws, always an answer the codec reads', async () => {
    const mutated = fc
      .tuple(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 8 }),
      )
      .map(([seed, flips, cut, tail]) => {
        const b = seed.slice();
        for (const [at, v] of flips) b[at % b.length] = v;
        return new Uint8Array([...b.slice(0, Math.max(2, b.length - (cut % 4))), ...tail]);
      });
    await fc.assert(fc.asyncProperty(mutated, check), { numRuns: 5000, seed: 7871 });
  });
});
