/**
 * DNS-over-HTTPS answers for DNS-only load balancers (RFC 8484), independent of HTTP: a DNS
 * message in, a DNS message out. worker/doh handles the HTTP side (methods, media type, sizes).
 *
 * - Malformed query: FORMERR when its ID can be read (2 bytes or more), else undefined (HTTP 400);
 *   OPCODE other than QUERY: NOTIMP; EDNS version other than 0: BADVERS (dns/doh/message.ts; the
 *   common well-formed query is read by hand, dns/doh/wire.ts).
 * - A well-formed query: dns/doh/answer.ts (REFUSED, NODATA, an answer, or SERVFAIL).
 * - Never throws and never rejects: a failure of ours is SERVFAIL, logged by the caller.
 */
import { answerQuery, type DohAnswer, type DohContext } from './answer.ts';
import type { QueryEcho } from './message.ts';
import { encodeResponse, parseQuery } from './wire.ts';

export { answerQuery, recordOf, servedName, type DohAnswer, type DohContext, type DohHealth, type OriginRecord } from './answer.ts';
export { ecsPreferred, parseClientSubnet, type ClientSubnet } from './ecs.ts';
export { decodeQuery, QTYPE, RCODE, type AnswerRecord, type Query, type Rcode } from './message.ts';
export { encodeResponse, parseQuery, readCommonQuery } from './wire.ts';

/** The largest DoH message we read (bytes): see worker/doh MAX_DNS_MESSAGE. */
export const MAX_DNS_MESSAGE = 4096;

/**
 * Answers the DNS message `bytes`; undefined when it is too short to carry an ID (answer HTTP
 * 400). `onError` hears failures of ours (answered SERVFAIL).
 */
export function answerDoh(bytes: Uint8Array, ctx: DohContext, onError?: (e: unknown) => void): DohAnswer | Promise<DohAnswer> | undefined {
  const parsed = parseQuery(bytes);
  if (!parsed) return undefined;
  if (!parsed.ok) return failure(parsed.echo, parsed.rcode);
  const query = parsed.query;
  const servfail = (e: unknown): DohAnswer => {
    onError?.(e);
    return failure(query, 'SERVFAIL');
  };
  try {
    const answer = answerQuery(query, ctx);
    return answer instanceof Promise ? answer.catch(servfail) : answer;
  } catch (e) {
    return servfail(e);
  }
}

function failure(echo: QueryEcho, rcode: DohAnswer['rcode']): DohAnswer {
  return { message: encodeResponse(echo, rcode), rcode };
}
