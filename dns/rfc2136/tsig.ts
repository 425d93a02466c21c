/**
 * TSIG (RFC 8945): HMAC-SHA256/512 signatures on DNS messages, through crypto.subtle.
 *
 * A request is signed by appending a TSIG RR whose MAC covers the message and the TSIG variables
 * (§4.3.3); the response to it must carry a TSIG RR whose MAC covers the request's MAC, the
 * response and the variables (§4.3.1), with a time signed within fudge of our clock (§5.2.3).
 * Truncated MACs (§5.2.2.1) are not accepted: the MAC must be the digest's full length.
 */
import * as dnsPacket from '@dnsquery/dns-packet';

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha512';

/** A TSIG key as in BIND's `key` statement: `secret` is the key material in base64. */
export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  secret: string;
}

/**
 * A TSIG failure. `code`: the RFC 8945 error the server reported in its TSIG RR (BADSIG 16,
 * BADKEY 17, BADTIME 18, BADTRUNC 22), or what our verification of its response found:
 * UNSIGNED (no TSIG RR on a response to a signed request), BADSIG (the MAC, which also covers the
 * original ID, does not verify or is truncated), BADKEY (another key or algorithm), BADTIME (time
 * signed outside fudge),
 * FORMERR (a TSIG RR we cannot parse). `byServer` tells which side found it.
 */
export class TsigError extends Error {
  readonly code: 'BADSIG' | 'BADKEY' | 'BADTIME' | 'BADTRUNC' | 'UNSIGNED' | 'FORMERR';
  readonly byServer: boolean;
  constructor(code: TsigError['code'], byServer: boolean, message: string) {
    super(message);
    this.name = 'TsigError';
    this.code = code;
    this.byServer = byServer;
  }
}

/** What verifying the response needs from its request. */
export interface SignedRequest {
  /** The request with its TSIG RR appended (ARCOUNT incremented). */
  message: Uint8Array;
  /** The request's MAC (§4.3.1: the response's MAC covers it). */
  mac: Uint8Array;
}

/** Seconds a time signed may differ from the receiver's clock (§10 recommends 300). */
export const FUDGE = 300;
const TSIG = 250;
const ANY = 255;
const HASH = { 'hmac-sha256': { hash: 'SHA-256', bytes: 32 }, 'hmac-sha512': { hash: 'SHA-512', bytes: 64 } } as const;
const SERVER_ERRORS: Record<number, TsigError['code']> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };

/**
 * Signs `message` (a complete DNS message without TSIG, its ID set) with `key` at `nowMs` (ms
 * since the epoch; time signed is its whole seconds, fudge 300 s). Returns the message with the
 * TSIG RR appended as the last additional record (§4.2) and the MAC. Throws a TypeError when the
 * secret is not base64 and a RangeError for an empty secret.
 */
export async function signRequest(message: Uint8Array, key: TsigKey, nowMs: number): Promise<SignedRequest> {
  const id = (message[0]! << 8) | message[1]!;
  const fields = { time: Math.floor(nowMs / 1000), fudge: FUDGE, error: 0, other: new Uint8Array(0) };
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(key), concat(message, variables(key, fields))));
  const rdata = concat(wireName(key.algorithm), u48(fields.time), u16(FUDGE), u16(mac.length), mac, u16(id), u16(0), u16(0));
  const rr = concat(wireName(key.name), u16(TSIG), u16(ANY), new Uint8Array(4), u16(rdata.length), rdata);
  const signed = concat(message, rr);
  setU16(signed, 10, ((message[10]! << 8) | message[11]!) + 1);
  return { message: signed, mac };
}

/**
 * Verifies the TSIG RR of `response`, the answer to `request` signed with `key`, at `nowMs` (ms
 * since the epoch). Returns the response with its TSIG RR removed (ARCOUNT decremented, ID as
 * sent). Throws TsigError: the server's BADSIG/BADKEY/BADTIME/BADTRUNC (byServer), or UNSIGNED,
 * BADKEY, BADSIG, BADTIME or FORMERR found here (§5.3: the client checks the MAC, then the time).
 */
export async function verifyResponse(response: Uint8Array, request: SignedRequest, key: TsigKey, nowMs: number): Promise<Uint8Array> {
  const found = findTsig(response);
  if (!found) throw new TsigError('UNSIGNED', false, `the response to a request signed with key ${key.name} is not signed`);
  const { start, rr } = found;
  const t = parseTsig(rr.data);
  if (t.error !== 0) {
    const code = SERVER_ERRORS[t.error] ?? 'FORMERR';
    const detail = code === 'BADTIME' && t.other.length === 6 ? ` (server clock ${readU48(t.other, 0)} s, ours ${Math.floor(nowMs / 1000)} s)` : '';
    throw new TsigError(code, true, `the server answered TSIG error ${code} (${t.error}) for key ${key.name}${detail}`);
  }
  if (canonical(rr.name) !== canonical(key.name) || canonical(t.algorithm) !== key.algorithm)
    throw new TsigError('BADKEY', false, `the response is signed with key ${rr.name} (${t.algorithm}), not ${key.name} (${key.algorithm})`);
  if (t.mac.length !== HASH[key.algorithm].bytes)
    throw new TsigError('BADSIG', false, `the response's MAC has ${t.mac.length} bytes, not ${HASH[key.algorithm].bytes}`);
  const stripped = response.slice(0, start);
  setU16(stripped, 0, t.originalId);
  setU16(stripped, 10, ((response[10]! << 8) | response[11]!) - 1);
  const signedData = concat(u16(request.mac.length), request.mac, stripped, variables(key, t));
  const ok = await crypto.subtle.verify('HMAC', await hmacKey(key), t.mac, signedData);
  if (!ok) throw new TsigError('BADSIG', false, `the response's signature with key ${key.name} does not verify`);
  const skew = Math.floor(nowMs / 1000) - t.time;
  if (Math.abs(skew) > t.fudge) throw new TsigError('BADTIME', false, `the response was signed ${skew} s from our clock, beyond the fudge of ${t.fudge} s`);
  return stripped;
}

interface TsigFields {
  time: number;
  fudge: number;
  error: number;
  other: Uint8Array;
}

/** The TSIG variables of §4.3.3: key name, class, TTL, algorithm, time signed, fudge, error, other data. */
function variables(key: TsigKey, f: TsigFields): Uint8Array {
  return concat(
    wireName(key.name),
    u16(ANY),
    new Uint8Array(4),
    wireName(key.algorithm),
    u48(f.time),
    u16(f.fudge),
    u16(f.error),
    u16(f.other.length),
    f.other,
  );
}

function parseTsig(rdata: Uint8Array): TsigFields & { algorithm: string; mac: Uint8Array<ArrayBuffer>; originalId: number } {
  try {
    const algorithm = dnsPacket.name.decode(rdata, 0);
    let at = codecBytes(dnsPacket.name.decode);
    const time = readU48(rdata, at);
    const fudge = readU16(rdata, at + 6);
    const macSize = readU16(rdata, at + 8);
    const mac = Uint8Array.from(rdata.subarray(at + 10, at + 10 + macSize));
    at += 10 + macSize;
    const originalId = readU16(rdata, at);
    const error = readU16(rdata, at + 2);
    const otherLength = readU16(rdata, at + 4);
    const other = rdata.slice(at + 6, at + 6 + otherLength);
    if (mac.length !== macSize || other.length !== otherLength) throw new RangeError('truncated');
    return { algorithm, time, fudge, mac, originalId, error, other };
  } catch (e) {
    throw new TsigError('FORMERR', false, `cannot parse the response's TSIG record: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The last additional RR when it is a TSIG (§5.1: TSIG must be last), with its offset; null when absent. */
function findTsig(message: Uint8Array): { start: number; rr: { name: string; data: Uint8Array } } | null {
  const counts = [4, 6, 8, 10].map((at) => readU16(message, at));
  let at = 12;
  for (let i = 0; i < counts[0]!; i++) (dnsPacket.question.decode(message, at), (at += codecBytes(dnsPacket.question.decode)));
  const records = counts[1]! + counts[2]! + counts[3]!;
  for (let i = 0; i < records; i++) {
    const start = at;
    const rr = dnsPacket.answer.decode(message, at);
    at += codecBytes(dnsPacket.answer.decode);
    if (i === records - 1 && counts[3]! > 0 && rr.type === 'TSIG') return { start, rr: { name: rr.name, data: rr.data as Uint8Array } };
  }
  return null;
}

const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key for `key`, imported once per secret and algorithm. */
function hmacKey(key: TsigKey): Promise<CryptoKey> {
  const cacheKey = `${key.algorithm}:${key.secret}`;
  let k = keys.get(cacheKey);
  if (!k) {
    const raw = Uint8Array.from(atob(key.secret), (c) => c.charCodeAt(0));
    if (raw.length === 0) throw new RangeError(`TSIG key ${key.name} has an empty secret`);
    k = crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: HASH[key.algorithm].hash }, false, ['sign', 'verify']);
    if (keys.size > 16) keys.clear();
    keys.set(cacheKey, k);
  }
  return k;
}

/** A name in canonical wire form (§4.3.3: lower case, uncompressed), from text with or without the trailing dot. */
export function wireName(name: string): Uint8Array {
  return dnsPacket.name.encode(canonical(name));
}

function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** How many bytes the last encode/decode call of a dns-packet codec function consumed. */
export function codecBytes(fn: unknown): number {
  return (fn as { bytes: number }).bytes;
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

/** Big-endian unsigned 16 bits. */
export function u16(n: number): Uint8Array {
  return Uint8Array.of(n >> 8, n & 0xff);
}
function u48(n: number): Uint8Array {
  const out = new Uint8Array(6);
  for (let i = 5, v = n; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v % 256;
  return out;
}
function setU16(b: Uint8Array, at: number, n: number): void {
  b[at] = (n >> 8) & 0xff;
  b[at + 1] = n & 0xff;
}
/** Reads a big-endian unsigned 16 bits at `at`; throws a RangeError past the end. */
export function readU16(b: Uint8Array, at: number): number {
  if (at + 2 > b.length) throw new RangeError('message too short');
  return (b[at]! << 8) | b[at + 1]!;
}
function readU48(b: Uint8Array, at: number): number {
  return readU16(b, at) * 2 ** 32 + readU16(b, at + 2) * 65536 + readU16(b, at + 4);
}
