/**
 * The RFC 2136 DNS provider: dynamic update of a zone on an authoritative server (BIND, Knot,
 * PowerDNS…), every message signed with TSIG (RFC 8945) and every answer's signature verified.
 * Reads and updates go over TCP (RFC 1035 §4.2.2) through the DnsTransport the runtime gives.
 *
 * Reading asks for A, AAAA, CNAME and ANY at the name and the ownership TXTs at `_edge-lb.<name>`
 * (see update.ts); applying sends one UPDATE whose prerequisites pin what was read, so a change made
 * behind our back fails it as a whole (YXRRSET/NXRRSET → ProviderError 'conflict').
 *
 * RFC 2136 §3.4.2.2 makes a server silently skip adding a CNAME where other data is (or an
 * address where a CNAME is): apply refuses such a change set ('invalid') from what the read saw
 * (an ANY query counts the other types). Prerequisites cannot pin those other types, so one
 * added between our read and our update still makes the server skip the CNAME.
 */
import * as dnsPacket from '@dnsquery/dns-packet';
import { ProviderError, type ChangeSet, type DnsProvider, type DnsRecord, type NameState, type Owner } from '../provider.ts';
import { signRequest, TsigError, verifyResponse, type TsigAlgorithm, type TsigKey } from './tsig.ts';
import { exchange, messageOf, type DnsTransport } from './transport.ts';
import { buildUpdate, canonical, nameState, readQueries } from './update.ts';

export type { DnsConnection, DnsTransport } from './transport.ts';
export type { TsigAlgorithm } from './tsig.ts';

export interface Rfc2136Options {
  /** The zone's apex (`example.com`, with or without the trailing dot). */
  zone: string;
  /** The primary server's address or host name, and its TCP port (53 when omitted). */
  server: string;
  port?: number;
  /** The TSIG key's name, algorithm and base64 secret, as in BIND's `key` statement. */
  keyName: string;
  algorithm: TsigAlgorithm;
  secret: string;
  transport: DnsTransport;
  /** Clock in ms since the epoch (TSIG time signed); Date.now by default. */
  now?: () => number;
  /** Deadline of one exchange (connect, send, all answers) in ms; 5000 by default. */
  timeoutMs?: number;
}

const RCODE_KIND: Record<string, ProviderError['kind']> = {
  NOTAUTH: 'auth',
  YXRRSET: 'conflict',
  NXRRSET: 'conflict',
  YXDOMAIN: 'conflict',
  NXDOMAIN: 'conflict',
  REFUSED: 'refused',
  NOTIMP: 'refused',
  SERVFAIL: 'unreachable',
  FORMERR: 'invalid',
  NOTZONE: 'invalid',
};

/**
 * A DnsProvider for `options.zone` on `options.server`. `read` and `apply` throw ProviderError:
 * 'auth' for NOTAUTH or a TSIG failure either way (BADSIG, BADKEY, BADTIME, an unsigned or
 * tampered answer; the message names the key, never the secret), 'conflict' when a prerequisite
 * failed, 'refused' for REFUSED/NOTIMP, 'unreachable' for connection failures, timeouts and
 * SERVFAIL, 'invalid' for a record or name the zone cannot take.
 */
export function rfc2136Provider(options: Rfc2136Options): DnsProvider {
  const zone = canonical(options.zone);
  const key: TsigKey = { name: canonical(options.keyName), algorithm: options.algorithm, secret: options.secret };
  const now = options.now ?? Date.now;
  const where = `${options.server}:${options.port ?? 53}`;

  /** Signs, sends and verifies `messages` on one connection; the answers decoded, in order. */
  async function send(messages: Uint8Array[], what: string): Promise<dnsPacket.Packet[]> {
    const signed = await Promise.all(messages.map((m) => signRequest(m, key, now()))).catch((e: unknown) => {
      // atob's or importKey's complaint about the secret; it never quotes the secret itself.
      throw new ProviderError('auth', `${what}: TSIG key ${key.name} is unusable (${messageOf(e)}); its secret must be base64`);
    });
    const port = options.port ?? 53;
    const raw = await exchange(
      options.transport,
      options.server,
      port,
      signed.map((s) => s.message),
      options.timeoutMs ?? 5000,
    ).catch((e: unknown) => {
      throw new ProviderError('unreachable', `${what}: ${messageOf(e)}`);
    });
    try {
      const verified = await Promise.all(raw.map((r, i) => verifyResponse(r, signed[i]!, key, now())));
      return verified.map((v) => dnsPacket.decode(v));
    } catch (e) {
      if (!(e instanceof TsigError)) throw new ProviderError('unreachable', `${what} on ${where}: malformed answer (${messageOf(e)})`);
      const hint = e.code === 'BADTIME' ? ' (clocks differ by more than the fudge?)' : e.code === 'BADSIG' && e.byServer ? ' (wrong secret?)' : '';
      throw new ProviderError('auth', `${what} on ${where}: ${e.message}${hint}`);
    }
  }

  function check(answer: dnsPacket.Packet, what: string, acceptable: string[]): void {
    const rcode = String(answer.rcode ?? 'NOERROR');
    if (acceptable.includes(rcode)) return;
    const kind = RCODE_KIND[rcode] ?? 'refused';
    const why =
      rcode === 'NOTAUTH'
        ? `server is not authoritative for zone ${zone} or does not accept key ${key.name}`
        : kind === 'conflict'
          ? 'the name changed since it was read (prerequisite failed)'
          : `server answered ${rcode}`;
    throw new ProviderError(kind, `${what} on ${where}: ${why}`);
  }

  function inZone(name: string): string {
    const n = canonical(name);
    if (n !== zone && !n.endsWith(`.${zone}`)) throw new ProviderError('invalid', `${n} is not in zone ${zone}`);
    return n;
  }

  return {
    kind: 'rfc2136',
    async read(rawName: string, owner: Owner): Promise<NameState> {
      const name = inZone(rawName);
      const answers = await send(readQueries(name, ids(5)), `reading ${name}`);
      for (const a of answers) check(a, `reading ${name}`, ['NOERROR', 'NXDOMAIN']);
      return nameState(name, owner, answers);
    },
    async apply(changes: ChangeSet): Promise<void> {
      const name = inZone(changes.name);
      for (const r of [...changes.remove, ...changes.add]) validate(r, name);
      if (changes.remove.length === 0 && changes.add.length === 0) return;
      let message: Uint8Array;
      try {
        message = buildUpdate(zone, { ...changes, name }, ids(1)[0]!);
      } catch (e) {
        throw new ProviderError('invalid', `updating ${name}: ${messageOf(e)}`);
      }
      const [answer] = await send([message], `updating ${name}`);
      check(answer!, `updating ${name}`, ['NOERROR']);
    },
  };
}

/** Distinct random 16-bit message IDs (RFC 5452 §9.2). */
function ids(count: number): number[] {
  const out = new Set<number>();
  while (out.size < count) out.add(crypto.getRandomValues(new Uint16Array(1))[0]!);
  return [...out];
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOST = /^([a-z0-9_*]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Throws ProviderError 'invalid' for a record the UPDATE could not carry faithfully. */
function validate(r: DnsRecord, name: string): void {
  const bad = (why: string) => new ProviderError('invalid', `${r.type} ${r.content} at ${r.name}: ${why}`);
  if (canonical(r.name) !== name) throw bad(`not at ${name}`);
  if (!Number.isInteger(r.ttl) || r.ttl < 0 || r.ttl > 2 ** 31 - 1) throw bad('TTL must be an integer of seconds in [0, 2^31-1]');
  if (r.type === 'A' && !IPV4.test(r.content)) throw bad('not a dotted quad');
  if (r.type === 'AAAA' && !(/^[0-9a-f:.]+$/i.test(r.content) && r.content.includes(':'))) throw bad('not an IPv6 address');
  if (r.type === 'CNAME' && (!HOST.test(canonical(r.content)) || canonical(r.content).length > 253)) throw bad('not a host name');
}
