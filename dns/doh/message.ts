/**
 * DNS messages of DNS-over-HTTPS: the types a query and a response are made of, and reading any
 * query with the maintained codec `@dnsquery/dns-packet` (Uint8Array based: it needs no Node
 * Buffer, so it runs in workerd as in Node). The common query is read by hand first, and every
 * response is written by hand (dns/doh/wire.ts): this is the path for the rest. What the codec
 * does not check is checked here: the message must be exactly as long as its sections, hold one
 * question (RFC 9619) and at most one OPT record with a root name (RFC 6891 §6.1.1), and a Client
 * Subnet option must be consistent (RFC 7871 §6, dns/doh/ecs.ts).
 *
 * A response carries the query's question section byte for byte (the codec would re-encode names
 * it decoded as text, which loses labels holding dots or bytes that are not UTF-8), so a
 * resolver's 0x20 case randomisation and odd names come back unchanged.
 */
import * as dnsPacket from '@dnsquery/dns-packet';
import { ECS_OPTION_CODE, parseClientSubnet, type ClientSubnet } from './ecs.ts';

/** Response codes (RFC 1035 §4.1.1; BADVERS is RFC 6891's extended RCODE 16). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;
export type Rcode = keyof typeof RCODE;

/** Record types and class by number (IANA). */
export const QTYPE = { A: 1, CNAME: 5, AAAA: 28 } as const;
export const CLASS_IN = 1;

/** The UDP payload size our OPT record advertises (DNS Flag Day 2020's 1,232 bytes; meaningless over HTTPS, but a field of OPT). */
export const EDNS_PAYLOAD_SIZE = 1232;

/** Header flags (RFC 1035 §4.1.1, RFC 4035 §3.2.2). */
export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_RD = 0x0100;
export const FLAG_CD = 0x0010;

/** What a query had in EDNS (RFC 6891): an OPT record's version, and its Client Subnet option. */
export interface Edns {
  version: number;
  ecs?: ClientSubnet;
}

/** The parts of a query a response repeats: ID, the RD and CD flags, the question section as sent, EDNS. */
export interface QueryEcho {
  id: number;
  /** The query's RD and CD bits (copied to the response: RFC 1035 §4.1.1, RFC 4035 §3.2.2). */
  flags: number;
  /** The question section's bytes as sent; absent when the question could not be read. */
  rawQuestion?: Uint8Array;
  edns?: Edns;
}

/** A well-formed standard query with one question. */
export interface Query extends QueryEcho {
  rawQuestion: Uint8Array;
  /** QNAME as text (labels joined by dots, no trailing dot, case as sent; "." for the root). */
  name: string;
  /** Whether `name` is the QNAME exactly: encoding it again gives the same labels (false when a label holds a dot, or bytes that are not ASCII text). */
  plainName: boolean;
  qtype: number;
  qclass: number;
}

/** A query, or the error to answer with (and what of the query could be read), or undefined when not even the ID could (HTTP 400). */
export type Parsed = { ok: true; query: Query } | { ok: false; rcode: Rcode; echo: QueryEcho } | undefined;

/** Reads a DoH request body with the codec (dns/doh/wire.ts `parseQuery` tries the common shape by hand first). Never throws. */
export function decodeQuery(bytes: Uint8Array): Parsed {
  if (bytes.length < 2) return undefined;
  const id = (bytes[0]! << 8) | bytes[1]!;
  const word = bytes.length >= 4 ? (bytes[2]! << 8) | bytes[3]! : 0;
  const echo: QueryEcho = { id, flags: word & (FLAG_RD | FLAG_CD) };
  const fail = (rcode: Rcode) => ({ ok: false as const, rcode, echo });
  if (bytes.length < 12 || word & FLAG_QR) return fail('FORMERR');
  if (((word >> 11) & 0xf) !== 0) return fail('NOTIMP'); // OPCODE other than QUERY
  let decoded: dnsPacket.Packet;
  let questionLength: number;
  try {
    decoded = dnsPacket.decode(bytes);
    if (bytesRead(dnsPacket.decode) !== bytes.length) return fail('FORMERR'); // truncated, or trailing bytes
    if (decoded.questions?.length !== 1) return fail('FORMERR');
    const question = dnsPacket.question.decode(bytes, 12);
    questionLength = bytesRead(dnsPacket.question.decode);
    echo.rawQuestion = bytes.slice(12, 12 + questionLength);
    const edns = readEdns(decoded.additionals ?? []);
    if (edns === 'FORMERR') return fail('FORMERR');
    echo.edns = edns;
    if (edns && edns.version !== 0) return fail('BADVERS');
    const end = 12 + questionLength;
    const query: Query = {
      ...echo,
      rawQuestion: echo.rawQuestion,
      name: question.name,
      plainName: isPlainName(question.name, bytes.subarray(12, end - 4)),
      qtype: (bytes[end - 4]! << 8) | bytes[end - 3]!,
      qclass: (bytes[end - 2]! << 8) | bytes[end - 1]!,
    };
    return { ok: true, query };
  } catch {
    return fail('FORMERR');
  }
}

/** How many bytes a codec's last decode read (abstract-encoding's `decode.bytes`, which the codec's types omit). */
const bytesRead = (decode: unknown) => (decode as { bytes: number }).bytes;

type OptRecord = { type: string; name: string; ednsVersion?: number; options?: { code: number; data?: Uint8Array }[] };

/** The OPT record of a query: undefined without one; FORMERR for two, a non-root owner, or a malformed or repeated Client Subnet option. */
function readEdns(additionals: readonly unknown[]): Edns | undefined | 'FORMERR' {
  const opts = additionals.filter((a): a is OptRecord => (a as OptRecord).type === 'OPT');
  if (opts.length === 0) return undefined;
  if (opts.length > 1 || opts[0]!.name !== '.') return 'FORMERR';
  const opt = opts[0]!;
  const subnets = (opt.options ?? []).filter((o) => o.code === ECS_OPTION_CODE);
  if (subnets.length > 1) return 'FORMERR';
  let ecs: ClientSubnet | undefined;
  if (subnets.length === 1) {
    ecs = parseClientSubnet(subnets[0]!.data ?? new Uint8Array(0));
    if (!ecs) return 'FORMERR';
  }
  return { version: opt.ednsVersion ?? 0, ecs };
}

/** Whether encoding `name` again gives `raw` (ASCII case aside). */
function isPlainName(name: string, raw: Uint8Array): boolean {
  if (!/^[\x21-\x7e]*$/.test(name)) return false;
  let again: Uint8Array;
  try {
    again = dnsPacket.name.encode(name);
  } catch {
    return false;
  }
  if (again.length !== raw.length) return false;
  for (let i = 0; i < raw.length; i++) if (lower(again[i]!) !== lower(raw[i]!)) return false;
  return true;
}

const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);

/**
 * One answer record, owned by the question's name as sent: A, AAAA or CNAME; `ttl` in seconds;
 * `rdata` its RDLENGTH and RDATA as the codec encodes them (dns/doh/answer.ts `recordOf`).
 */
export interface AnswerRecord {
  type: 'A' | 'AAAA' | 'CNAME';
  ttl: number;
  rdata: Uint8Array;
}
