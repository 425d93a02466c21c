/**
 * TSIG (RFC 8945) against known answers from BIND 9.18: the vectors below are a SOA query for
 * example.test signed here with key `vector-key` (hmac-sha256) and BIND's answers to it, recorded
 * once from test/fixtures/bind9.ts (ok; unknown key → BADKEY; wrong secret → BADSIG; clock an
 * hour behind → BADTIME). Then signing is checked against dig's (BIND's libdns) own signature of
 * a message, and a live BIND accepts what we sign.
 */
import { createServer } from 'node:net';
import { execFile } from 'node:child_process';
import * as dnsPacket from '@dnsquery/dns-packet';
import { describe, expect, test } from 'vitest';
// BIND9 and the node:net transport are Node fixtures (test/); only the tests import them.
import { startBind9 } from '../../test/fixtures/bind9.ts';
import { nodeDnsTransport } from '../../test/fixtures/dns-tcp.ts';
import { exchange } from './transport.ts';
import { signRequest, TsigError, verifyResponse, type TsigKey } from './tsig.ts';

const vectors = {
  secret: 'EB6mfbJuL3ADgC69Ph/hTzm5jUR1BrZOmsHVVa5ZDsI=',
  nowMs: 1795257316628,
  ok: {
    request:
      '123400000001000000000001076578616d706c65047465737400000600010a766563746f722d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b0173' +
      'e4012c00209e213b789b73e32d7387f74f226c4cf0b680ee02c180838c3a02b25cacba3a93123400000000',
    response:
      '123484000001000100010002076578616d706c6504746573740000060001c00c000600010000012c0026026e73c00c0a686f73746d6173746572c00c0000000100000e100000' +
      '0258000151800000003cc00c000200010000012c0002c02ac02a000100010000012c00047f0000010a766563746f722d6b65790000fa00ff00000000003d0b686d61632d7368' +
      '613235360000006b0173e4012c002062d93021934d21a6454226f999b256dfcff700cbb2cd460742304185e73a7dc0123400000000',
  },
  badkey: {
    request:
      '123400000001000000000001076578616d706c6504746573740000060001056e6f6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b0173e4012c0020' +
      '8da9d222d88f36acbce57d5f3ffc5e4e7b88260f7b8ddb930d1017c3378b308d123400000000',
    response:
      '123480090001000000000001076578616d706c6504746573740000060001056e6f6b65790000fa00ff00000000001d0b686d61632d7368613235360000006b0173e4012c0000' +
      '123400110000',
  },
  badsig: {
    request:
      '123400000001000000000001076578616d706c65047465737400000600010a766563746f722d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b0173' +
      'e4012c00206ff576bdb0267ee3d5bdc2b29b5b7f70bc7a21fdd342c69b08bb5f1c192e6f08123400000000',
    response:
      '123480090001000000000001076578616d706c65047465737400000600010a766563746f722d6b65790000fa00ff00000000001d0b686d61632d7368613235360000006b0173' +
      'e4012c0000123400100000',
  },
  badtime: {
    request:
      '123400000001000000000001076578616d706c65047465737400000600010a766563746f722d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b0165' +
      'd4012c00200df08520390ee7359fa8e1f73e8a826bac5cdeec14bbf960b2306a6cb05fe409123400000000',
    response:
      '123480090001000000000001076578616d706c65047465737400000600010a766563746f722d6b65790000fa00ff0000000000430b686d61632d7368613235360000006b0165' +
      'd4012c00207b394bbbe2fcfd5d33de7527f2d02d556bdc82305f112be6122fb88c14b6d61712340012000600006b0173e4',
  },
};
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const key: TsigKey = { name: 'vector-key', algorithm: 'hmac-sha256', secret: vectors.secret };
const query = dnsPacket.encode({ type: 'query', id: 0x1234, questions: [{ type: 'SOA', name: 'example.test' }] });
const signed = () => signRequest(query, key, vectors.nowMs);

/** The TsigError `promise` rejects with (fails otherwise). */
async function tsigError(promise: Promise<unknown>): Promise<TsigError> {
  const e = await promise.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(TsigError);
  return e as TsigError;
}

describe('TSIG known answers (BIND 9.18)', () => {
  test('signing is deterministic and gives the request BIND accepted, byte for byte', async () => {
    const s = await signed();
    expect(Buffer.from(s.message).toString('hex')).toBe(vectors.ok.request);
    expect(s.mac).toHaveLength(32);
  });

  test("BIND's signed answer verifies; the TSIG RR is removed", async () => {
    const answer = dnsPacket.decode(await verifyResponse(hex(vectors.ok.response), await signed(), key, vectors.nowMs));
    expect([answer.rcode, answer.answers?.[0]?.type, answer.additionals?.map((r) => r.type)]).toEqual(['NOERROR', 'SOA', ['A']]);
  });

  test('any tampered byte fails: in the answer, in the header, in the MAC', async () => {
    const response = hex(vectors.ok.response);
    for (const at of [3, 40, response.length - 7]) {
      const tampered = response.slice();
      tampered[at]! ^= 0x01;
      const e = await tsigError(verifyResponse(tampered, await signed(), key, vectors.nowMs));
      expect([e.code, e.byServer, e.message]).toEqual(['BADSIG', false, "the response's signature with key vector-key does not verify"]);
    }
  });

  test('a wrong secret fails as BADSIG, another key name or algorithm as BADKEY', async () => {
    const wrong = { ...key, secret: Buffer.alloc(32, 1).toString('base64') };
    expect((await tsigError(verifyResponse(hex(vectors.ok.response), await signed(), wrong, vectors.nowMs))).code).toBe('BADSIG');
    for (const other of [
      { ...key, name: 'other-key' },
      { ...key, algorithm: 'hmac-sha512' as const },
    ])
      expect((await tsigError(verifyResponse(hex(vectors.ok.response), await signed(), other, vectors.nowMs))).code).toBe('BADKEY');
  });

  test('the answer to another request (another request MAC) fails', async () => {
    const other = await signRequest(query, key, vectors.nowMs + 1000);
    expect((await tsigError(verifyResponse(hex(vectors.ok.response), other, key, vectors.nowMs))).code).toBe('BADSIG');
  });

  test('a time signed beyond the fudge (300 s) of our clock fails as BADTIME', async () => {
    const at = async (offsetS: number) => verifyResponse(hex(vectors.ok.response), await signed(), key, vectors.nowMs + offsetS * 1000);
    await expect(at(299)).resolves.toBeInstanceOf(Uint8Array);
    await expect(at(-299)).resolves.toBeInstanceOf(Uint8Array);
    for (const offset of [301, -302]) expect((await tsigError(at(offset))).code).toBe('BADTIME');
  });

  test('an unsigned answer to a signed request fails', async () => {
    const p = dnsPacket.decode(hex(vectors.ok.response));
    const unsigned = dnsPacket.encode({ ...p, additionals: p.additionals?.filter((r) => r.type !== 'TSIG') });
    expect((await tsigError(verifyResponse(unsigned, await signed(), key, vectors.nowMs))).code).toBe('UNSIGNED');
  });

  test('a truncated MAC fails as BADSIG, an unparsable TSIG RR as FORMERR', async () => {
    const p = dnsPacket.decode(hex(vectors.ok.response));
    const tsig = p.additionals!.at(-1)! as { data: Uint8Array };
    const withData = (data: Uint8Array) => dnsPacket.encode({ ...p, additionals: [...p.additionals!.slice(0, -1), { ...tsig, data } as dnsPacket.Answer] });
    const head = tsig.data.subarray(0, 13 + 8); // algorithm name, time signed, fudge
    const truncated = Uint8Array.of(...head, 0, 16, ...tsig.data.subarray(23, 39), ...tsig.data.subarray(55));
    const short = await tsigError(verifyResponse(withData(truncated), await signed(), key, vectors.nowMs));
    expect([short.code, short.message]).toEqual(['BADSIG', "the response's MAC has 16 bytes, not 32"]);
    expect((await tsigError(verifyResponse(withData(tsig.data.subarray(0, 20)), await signed(), key, vectors.nowMs))).code).toBe('FORMERR');
  });

  test("the server's TSIG errors are reported distinctly", async () => {
    for (const [vector, code] of [
      [vectors.badkey, 'BADKEY'],
      [vectors.badsig, 'BADSIG'],
      [vectors.badtime, 'BADTIME'],
    ] as const) {
      const request = { message: hex(vector.request), mac: hex(vector.request).slice(-40, -8) };
      const e = await tsigError(verifyResponse(hex(vector.response), request, key, vectors.nowMs));
      expect([e.code, e.byServer]).toEqual([code, true]);
      expect(e.message).toContain('vector-key');
    }
    const badtime = await tsigError(verifyResponse(hex(vectors.badtime.response), await signed(), key, vectors.nowMs - 3_600_000));
    expect(badtime.message).toMatch(/server clock \d+ s, ours \d+ s/);
  });
});

describe('TSIG against BIND tools', () => {
  for (const algorithm of ['hmac-sha256', 'hmac-sha512'] as const)
    test(`${algorithm}: our MAC of a message equals dig's (libdns)`, async () => {
      const secret = Buffer.alloc(algorithm === 'hmac-sha512' ? 64 : 32, 0x5a).toString('base64');
      const captured = await new Promise<Uint8Array>((resolve, reject) => {
        const server = createServer((socket) => socket.once('data', (d) => (resolve(new Uint8Array(d.subarray(2))), socket.destroy(), server.close())));
        server.listen(0, '127.0.0.1', () => {
          const { port } = server.address() as { port: number };
          execFile(
            '/usr/bin/dig',
            ['@127.0.0.1', '-p', String(port), '+tcp', '+tries=1', '+time=2', '-y', `${algorithm}:dig-key:${secret}`, 'example.test', 'SOA'],
            () => {},
          );
        });
        setTimeout(() => reject(new Error('dig sent nothing')), 5000);
      });
      const tsig = dnsPacket.decode(captured).additionals!.at(-1)!;
      expect(tsig.type).toBe('TSIG');
      const data = tsig.data as Uint8Array;
      const time = Buffer.from(data).readUIntBE(algorithm.length + 2, 6);
      const tsigStart = captured.length - (dnsPacket.name.encodingLength('dig-key') + 10 + data.length);
      const unsigned = captured.slice(0, tsigStart);
      unsigned[11]! -= 1;
      const ours = await signRequest(unsigned, { name: 'dig-key', algorithm, secret }, time * 1000);
      expect(Buffer.from(ours.message).toString('hex')).toBe(Buffer.from(captured).toString('hex'));
    });

  test('a live BIND accepts what we sign and answers with a signature that verifies', async () => {
    const bind = await startBind9();
    try {
      const k: TsigKey = { name: bind.keyName, algorithm: bind.algorithm, secret: bind.secret };
      const s = await signRequest(query, k, Date.now());
      const [raw] = await exchange(nodeDnsTransport(), bind.host, bind.port, [s.message], 2000);
      expect(dnsPacket.decode(await verifyResponse(raw!, s, k, Date.now())).rcode).toBe('NOERROR');
    } finally {
      await bind.stop();
    }
  });
});
