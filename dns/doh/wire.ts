/**
 * The DoH hot path's wire format by hand (RFC 1035 §4.1, RFC 6891 §6.1.2, RFC 7871 §6): reading
 * the common query and writing every response. With the codec's full decode and encode, they took
 * about 9% of the Worker's CPU per DoH answer (`BENCH_PROFILE=1 node bench/doh.ts`), more than
 * routing; by hand about 3%. A query's common shape is small: a header, one question whose labels
 * are printable ASCII, and at most one OPT record. Anything else goes to the codec path
 * (dns/doh/message.ts `decodeQuery`); the tests hold both paths to the same results, and the
 * encoder to the codec's bytes (dns/doh/wire.test.ts).
 */
import { parseClientSubnet, ECS_OPTION_CODE, type ClientSubnet } from './ecs.ts';
import {
  decodeQuery,
  EDNS_PAYLOAD_SIZE,
  FLAG_AA,
  FLAG_CD,
  FLAG_QR,
  FLAG_RD,
  RCODE,
  type AnswerRecord,
  type Parsed,
  type Query,
  type QueryEcho,
  type Rcode,
} from './message.ts';

const TYPE_OPT = 41;
/** The longest name the codec reads: the sum of its labels' lengths plus one each (the root byte aside). */
const MAX_NAME_LABELS = 254;

/** Reads a DoH request body (the common shape by hand, the rest by the codec). Never throws. */
export function parseQuery(bytes: Uint8Array): Parsed {
  const query = readCommonQuery(bytes);
  return query ? { ok: true, query } : decodeQuery(bytes);
}

/**
 * The query in `bytes` when it has the common shape: a standard query (QR 0, OPCODE 0), QDCOUNT 1,
 * no answer or authority records, a QNAME of one or more labels of printable ASCII other than
 * `.` (0x21-0x7e), and either no additional record or one OPT record (root owner, EDNS version 0)
 * whose options fill its RDATA exactly, with at most one Client Subnet option, well formed; and
 * nothing after it. Undefined otherwise: the codec path decides, errors included.
 */
export function readCommonQuery(bytes: Uint8Array): Query | undefined {
  const length = bytes.length;
  if (length < 17) return undefined; // header, a one-byte label, the root, QTYPE, QCLASS
  const word = (bytes[2]! << 8) | bytes[3]!;
  if (word & (FLAG_QR | 0x7800) || bytes[4]! !== 0 || bytes[5]! !== 1 || bytes[6]! | bytes[7]! | bytes[8]! | bytes[9]! | bytes[10]!) return undefined;
  const arcount = bytes[11]!;
  if (arcount > 1) return undefined;
  let at = 12;
  let name = '';
  for (;;) {
    const label = bytes[at]!;
    if (label === 0) break;
    if (label > 63 || at + 1 - 12 + label > MAX_NAME_LABELS || at + 1 + label >= length) return undefined;
    if (at > 12) name += '.';
    for (let i = at + 1; i <= at + label; i++) {
      const c = bytes[i]!;
      if (c < 0x21 || c > 0x7e || c === 0x2e) return undefined;
      name += String.fromCharCode(c);
    }
    at += label + 1;
  }
  if (at === 12) return undefined; // the root: rare, left to the codec path
  const end = at + 5; // the root byte, QTYPE, QCLASS
  if (end > length) return undefined;
  let edns: Query['edns'];
  if (arcount === 1) {
    edns = readOpt(bytes, end);
    if (!edns) return undefined;
  } else if (end !== length) return undefined;
  return {
    id: (bytes[0]! << 8) | bytes[1]!,
    flags: word & (FLAG_RD | FLAG_CD),
    rawQuestion: bytes.subarray(12, end),
    edns,
    name,
    plainName: true,
    qtype: (bytes[end - 4]! << 8) | bytes[end - 3]!,
    qclass: (bytes[end - 2]! << 8) | bytes[end - 1]!,
  };
}

/** The OPT record at `at`, the message's last record: undefined unless it has the common shape. */
function readOpt(bytes: Uint8Array, at: number): { version: number; ecs?: ClientSubnet } | undefined {
  if (at + 11 > bytes.length || bytes[at] !== 0 || ((bytes[at + 1]! << 8) | bytes[at + 2]!) !== TYPE_OPT || bytes[at + 6] !== 0) return undefined;
  let option = at + 11;
  const end = option + ((bytes[at + 9]! << 8) | bytes[at + 10]!);
  if (end !== bytes.length) return undefined;
  let ecs: ClientSubnet | undefined;
  while (option < end) {
    if (option + 4 > end) return undefined;
    const code = (bytes[option]! << 8) | bytes[option + 1]!;
    const data = option + 4 + ((bytes[option + 2]! << 8) | bytes[option + 3]!);
    if (data > end) return undefined;
    if (code === ECS_OPTION_CODE) {
      if (ecs) return undefined;
      ecs = parseClientSubnet(bytes.subarray(option + 4, data));
      if (!ecs) return undefined;
    }
    option = data;
  }
  return { version: 0, ecs };
}

/**
 * A response to `echo`: QR set, the query's RD and CD, AA when `authoritative`, RCODE, the
 * question section as sent, `answer` (owned by the question's name as sent: its labels, case
 * included), no authority section, and an OPT record when the query had one (RFC 6891 §7: UDP
 * payload size EDNS_PAYLOAD_SIZE, the extended RCODE, version 0), carrying the Client Subnet
 * option back with SCOPE PREFIX-LENGTH `ecsScope` (RFC 7871 §7.2.1; default 0). Never throws.
 */
export function encodeResponse(echo: QueryEcho, rcode: Rcode, answer?: AnswerRecord, opts: { authoritative?: boolean; ecsScope?: number } = {}): Uint8Array {
  const code = RCODE[rcode];
  const question = echo.rawQuestion;
  const owner = question && answer ? question.length - 4 : 0;
  const ecs = echo.edns?.ecs;
  const optLength = echo.edns ? 11 + (ecs ? 8 + ecs.addressBytes.length : 0) : 0;
  const answerLength = owner ? owner + 8 + answer!.rdata.length : 0;
  const out = new Uint8Array(12 + (question?.length ?? 0) + answerLength + optLength);
  out[0] = echo.id >> 8;
  out[1] = echo.id & 0xff;
  const flags = FLAG_QR | (opts.authoritative ? FLAG_AA : 0) | echo.flags | (code & 0xf);
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  let at = 12;
  if (question) {
    out[5] = 1;
    out.set(question, at);
    at += question.length;
  }
  if (owner) {
    out[7] = 1;
    out.set(question!.subarray(0, owner), at);
    at += owner;
    const type = answer!.type === 'A' ? 1 : answer!.type === 'AAAA' ? 28 : 5;
    const ttl = answer!.ttl;
    out[at + 1] = type;
    out[at + 3] = 1; // CLASS IN
    out[at + 4] = ttl >>> 24;
    out[at + 5] = (ttl >>> 16) & 0xff;
    out[at + 6] = (ttl >>> 8) & 0xff;
    out[at + 7] = ttl & 0xff;
    out.set(answer!.rdata, at + 8);
    at += 8 + answer!.rdata.length;
  }
  if (optLength) {
    out[11] = 1;
    out[at + 2] = TYPE_OPT;
    out[at + 3] = EDNS_PAYLOAD_SIZE >> 8;
    out[at + 4] = EDNS_PAYLOAD_SIZE & 0xff;
    out[at + 5] = code >> 4; // extended RCODE; version and flags stay 0
    out[at + 10] = optLength - 11;
    if (ecs) {
      out[at + 12] = ECS_OPTION_CODE;
      out[at + 14] = 4 + ecs.addressBytes.length;
      out[at + 16] = ecs.family;
      out[at + 17] = ecs.sourcePrefixLength;
      out[at + 18] = opts.ecsScope ?? 0;
      out.set(ecs.addressBytes, at + 19);
    }
  }
  return out;
}
