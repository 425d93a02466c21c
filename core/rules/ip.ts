/**
 * IP addresses for `ip.src`: the request's address, parsed once per request, and the literals of
 * an expression (`ip.src eq 192.0.2.1`, `ip.src in {192.0.2.0/24 2001:db8::/32 198.51.100.3..198.51.100.7}`,
 * the inline list forms of Cloudflare's "Values" reference). CIDRs are allowed inside sets only
 * ("Wirefilter comparisons support CIDR notation, but only inside sets", Cloudflare Network
 * Firewall, "Form expressions").
 *
 * An address is a family and its bits as 32-bit words (one for IPv4, four for IPv6), so a range
 * test is a few integer comparisons. IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) count as
 * IPv4, as ipaddr.js's `process()` does. Literals are validated by ipaddr.js; the request's
 * address takes a hand-written path for the canonical forms a runtime reports (CF-Connecting-IP):
 * ipaddr.js's `process()` costs ~1.1 µs per IPv4 and ~5 µs per IPv6 address on this machine, more
 * than the whole rule-evaluation budget. IPv6 text the fast path does not take (a zone index) goes
 * to ipaddr.js; IPv4 must be dotted-quad (no "127.1", no octal "010.0.0.1").
 */
import ipaddr from 'ipaddr.js';

/** A parsed address: `words` holds one uint32 for IPv4, four for IPv6 (most significant first). */
export interface IpAddress {
  readonly v6: boolean;
  readonly words: readonly number[];
}

/** An inclusive range of one family (a single address, a CIDR or an explicit `a..b` range). */
export interface IpRange {
  readonly v6: boolean;
  readonly lo: readonly number[];
  readonly hi: readonly number[];
}

/** The request's address, or undefined when it is not an IP address. */
export function parseAddress(text: string): IpAddress | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { v6: false, words: [v4] };
  if (!text.includes(':')) return undefined; // IPv4 is dotted-quad only: no "127.1", no octal "010.0.0.1"
  const words = parseV6(text);
  if (words) return mapped(words);
  return ipaddr.IPv6.isValid(text) ? fromBytes(ipaddr.process(text).toByteArray()) : undefined;
}

function mapped(words: number[]): IpAddress {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff ? { v6: false, words: [words[3]!] } : { v6: true, words };
}

function fromBytes(b: number[]): IpAddress {
  const words: number[] = [];
  for (let i = 0; i < b.length; i += 4) words.push(((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0);
  return { v6: b.length === 16, words };
}

/** Dotted-quad IPv4 (four decimal parts, no leading zeros beyond "0"), as a uint32. */
function parseV4(s: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 46 && digits > 0) {
      value = value * 256 + part;
      part = 0;
      digits = 0;
      if (++dots > 4) return undefined;
    } else return undefined;
  }
  return dots === 4 ? value : undefined;
}

/** RFC 4291 §2.2 text forms (hex groups, one `::`, an optional dotted-quad tail), as four uint32s. */
function parseV6(s: string): number[] | undefined {
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (s.startsWith('::')) ((gap = 0), (i = 2));
  while (i < s.length) {
    let j = i;
    let group = 0;
    for (let d; j < s.length && j - i < 5 && (d = hexDigit(s.charCodeAt(j))) >= 0; j++) group = group * 16 + d;
    if (s.charCodeAt(j) === 46) {
      const v4 = parseV4(s.slice(i));
      if (v4 === undefined) return undefined;
      groups.push(v4 >>> 16, v4 & 0xffff);
      break;
    }
    if (j === i || j - i > 4) return undefined;
    groups.push(group);
    if (j === s.length) break;
    if (s.charCodeAt(j) !== 58 || j + 1 === s.length) return undefined;
    if (s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return undefined;
      gap = groups.length;
      i = j + 2;
    } else i = j + 1;
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return undefined;
  const full = gap < 0 ? groups : [...groups.slice(0, gap), ...Array<number>(8 - groups.length).fill(0), ...groups.slice(gap)];
  return [0, 2, 4, 6].map((k) => ((full[k]! << 16) | full[k + 1]!) >>> 0);
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** Parses one element of an IP literal: an address, `addr/len` (CIDR), or `a..b`; a message when invalid. */
export function parseIpElement(text: string, allowSets: boolean): IpRange | string {
  const dots = text.indexOf('..');
  if (dots >= 0) {
    if (!allowSets) return 'an IP range (a..b) is allowed only inside a set: ip.src in {…}';
    const lo = literal(text.slice(0, dots));
    const hi = literal(text.slice(dots + 2));
    if (typeof lo === 'string') return lo;
    if (typeof hi === 'string') return hi;
    if (lo.v6 !== hi.v6) return 'both ends of an IP range must be of the same family';
    if (compare(lo.words, hi.words) > 0) return 'an IP range must not end before it starts';
    return { v6: lo.v6, lo: lo.words, hi: hi.words };
  }
  const slash = text.indexOf('/');
  if (slash < 0) {
    const a = literal(text);
    return typeof a === 'string' ? a : { v6: a.v6, lo: a.words, hi: a.words };
  }
  if (!allowSets) return 'a CIDR is allowed only inside a set: ip.src in {…}';
  const a = literal(text.slice(0, slash));
  if (typeof a === 'string') return a;
  const bits = Number(text.slice(slash + 1));
  if (!/^[0-9]{1,3}$/.test(text.slice(slash + 1)) || bits > a.words.length * 32) return `invalid prefix length /${text.slice(slash + 1)}`;
  const lo = a.words.map((w, k) => (w & mask(bits - 32 * k)) >>> 0);
  return { v6: a.v6, lo, hi: lo.map((w, k) => (w | ~mask(bits - 32 * k)) >>> 0) };
}

/**
 * Why `text` is not a client subnet as config lists take it (ACLs' `ip_subnet`, TCP apps'
 * `ip_firewall`): an address or a CIDR block (`192.0.2.0/24`, `2001:db8::/32`; host bits are
 * masked off), IPv4 dotted-quad only, IPv6 without a zone id (`fe80::1%eth0`), no `a..b` range.
 * Undefined when it is one.
 */
export function subnetError(text: string): string | undefined {
  if (text.includes('..')) return 'must be an address or a CIDR such as 192.0.2.0/24 or 2001:db8::/32';
  const r = parseIpElement(text, true);
  return typeof r === 'string' ? r : undefined;
}

/** The network mask of one 32-bit word when `bits` of the prefix fall in it (≤ 0: none, ≥ 32: all). */
function mask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/** An address literal: dotted-quad IPv4 or IPv6 (validated by ipaddr.js). */
function literal(text: string): IpAddress | string {
  if (ipaddr.IPv4.isValidFourPartDecimal(text) || (text.includes(':') && ipaddr.IPv6.isValid(text) && !text.includes('%'))) {
    return fromBytes(ipaddr.parse(text).toByteArray());
  }
  return `"${text}" is not an IP address`;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/** Whether `ip` falls in `r` (never across families). */
export function inRange(ip: IpAddress, r: IpRange): boolean {
  return ip.v6 === r.v6 && compare(ip.words, r.lo) >= 0 && compare(ip.words, r.hi) <= 0;
}

/** A set of ranges (an inline list), tested by a scan (sets in expressions are short): IPv4 bounds in one flat array. */
export function ipSet(ranges: readonly IpRange[]): (ip: IpAddress) => boolean {
  const v4 = ranges.filter((r) => !r.v6).flatMap((r) => [r.lo[0]!, r.hi[0]!]);
  const v6 = ranges.filter((r) => r.v6);
  return (ip) => {
    if (ip.v6) return v6.some((r) => inRange(ip, r));
    const w = ip.words[0]!;
    for (let i = 0; i < v4.length; i += 2) if (w >= v4[i]! && w <= v4[i + 1]!) return true;
    return false;
  };
}
