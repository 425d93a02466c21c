/**
 * PROXY protocol (HAProxy's spec, v1 text and v2 binary) through proxy-protocol-js: reading the
 * header a front load balancer sends (`accept_proxy`) and building the one origins get
 * (`proxy_protocol`). Framing is ours (where a header ends); parsing and building are the library's.
 */
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import pp from 'proxy-protocol-js';

export interface Endpoint {
  address: string;
  port: number;
}
/** The client and the address it connected to, as the front load balancer saw them. */
export interface ProxiedAddresses {
  source: Endpoint;
  destination: Endpoint;
}

const V2_SIGNATURE = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'binary');
const V1_PREFIX = Buffer.from('PROXY ', 'ascii');
/** The spec's longest v1 line (107 bytes with CRLF); v2 headers past 4 KiB (TLVs) are refused. */
const V1_MAX = 107;
const V2_MAX = 4096;

type Framed = { header: ProxiedAddresses | 'local'; rest: Buffer } | 'more';

/** The address as ipaddr.js sees it (byte arrays, IPv4-mapped forms), IPv4-mapped IPv6 unwrapped; undefined when it does not parse. */
function ipaddrOf(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    return ipaddr.process(address);
  } catch {
    return undefined;
  }
}

const startsLike = (buf: Buffer, prefix: Buffer) =>
  buf.subarray(0, Math.min(buf.length, prefix.length)).equals(prefix.subarray(0, Math.min(buf.length, prefix.length)));
const bytesToAddress = (bytes: number[]) =>
  ipaddrOf(
    bytes.length === 4
      ? bytes.join('.')
      : Buffer.from(bytes)
          .toString('hex')
          .replace(/(.{4})(?!$)/g, '$1:'),
  )!.toString();

/**
 * The header at the start of `buf`, and what follows it; 'more' when `buf` may still grow into
 * one. Throws an Error naming what is wrong otherwise. `local`: a v2 LOCAL command (the front load
 * balancer's own health check): the connection's own addresses stand.
 */
export function frameProxyHeader(buf: Buffer): Framed {
  if (startsLike(buf, V2_SIGNATURE)) {
    if (buf.length < 16) return 'more';
    const total = 16 + buf.readUInt16BE(14);
    if (total > V2_MAX) throw new Error(`v2 header of ${total} bytes exceeds ${V2_MAX}`);
    if (buf.length < total) return 'more';
    const parsed = pp.V2ProxyProtocol.parse(new Uint8Array(buf.subarray(0, total)));
    const rest = buf.subarray(total);
    if (parsed.command === pp.Command.LOCAL) return { header: 'local', rest };
    const a = parsed.proxyAddress;
    if (!(a instanceof pp.IPv4ProxyAddress || a instanceof pp.IPv6ProxyAddress)) throw new Error('v2 header carries no IPv4 or IPv6 addresses');
    return {
      header: {
        source: { address: bytesToAddress(a.sourceAddress.address), port: a.sourcePort },
        destination: { address: bytesToAddress(a.destinationAddress.address), port: a.destinationPort },
      },
      rest,
    };
  }
  if (startsLike(buf, V1_PREFIX)) {
    const end = buf.indexOf('\r\n');
    if (end < 0) {
      if (buf.length >= V1_MAX) throw new Error(`v1 header longer than ${V1_MAX} bytes`);
      return 'more';
    }
    const parsed = pp.V1ProxyProtocol.parse(buf.subarray(0, end + 2).toString('latin1'));
    if (!parsed.source.ipAddress) return { header: 'local', rest: buf.subarray(end + 2) }; // PROXY UNKNOWN
    return {
      header: {
        source: { address: parsed.source.ipAddress, port: parsed.source.port },
        destination: { address: parsed.destination.ipAddress, port: parsed.destination.port },
      },
      rest: buf.subarray(end + 2),
    };
  }
  throw new Error('the connection does not start with a PROXY protocol header');
}

/**
 * Reads the PROXY header from a paused socket and puts back what followed it. Rejects (with the
 * reason) on a malformed header, on the socket ending first, or after `timeoutMs`.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxiedAddresses | 'local'> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no complete PROXY header within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err: Error | undefined, value?: ProxiedAddresses | 'local', rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('readable', onReadable).off('end', onEnd).off('error', onError);
      if (rest?.length) socket.unshift(rest);
      if (err) reject(err);
      else resolve(value!);
    };
    const onEnd = () => finish(new Error('the connection ended before a complete PROXY header'));
    const onError = (e: Error) => finish(e);
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        buf = Buffer.concat([buf, chunk]);
        let framed: Framed;
        try {
          framed = frameProxyHeader(buf);
        } catch (e) {
          return finish(new Error(`malformed PROXY header: ${e instanceof Error ? e.message : String(e)}`));
        }
        if (framed !== 'more') return finish(undefined, framed.header, framed.rest);
      }
    };
    socket.on('readable', onReadable).on('end', onEnd).on('error', onError);
  });
}

/**
 * The header sent first to an origin: `v1` text or `v2` binary, PROXY command over TCP, for the
 * client `source` connected to `destination`. Mixed families are sent as IPv6 (IPv4-mapped).
 */
export function buildProxyHeader(version: 'v1' | 'v2', source: Endpoint, destination: Endpoint): Buffer {
  let src = ipaddrOf(source.address);
  let dst = ipaddrOf(destination.address);
  if (!src || !dst) throw new Error(`cannot build a PROXY header for ${source.address} → ${destination.address}`);
  if (src.kind() !== dst.kind()) {
    if (src.kind() === 'ipv4') src = (src as ipaddr.IPv4).toIPv4MappedAddress();
    if (dst.kind() === 'ipv4') dst = (dst as ipaddr.IPv4).toIPv4MappedAddress();
  }
  const v4 = src.kind() === 'ipv4';
  if (version === 'v1') {
    const family = v4 ? pp.INETProtocol.TCP4 : pp.INETProtocol.TCP6;
    return Buffer.from(
      new pp.V1ProxyProtocol(family, new pp.Peer(src.toString(), source.port), new pp.Peer(dst.toString(), destination.port)).build(),
      'latin1',
    );
  }
  const bytes = (ip: typeof src) => ip.toByteArray();
  const address = v4
    ? new pp.IPv4ProxyAddress(pp.IPv4Address.createFrom(bytes(src)), source.port, pp.IPv4Address.createFrom(bytes(dst)), destination.port)
    : new pp.IPv6ProxyAddress(pp.IPv6Address.createFrom(bytes(src)), source.port, pp.IPv6Address.createFrom(bytes(dst)), destination.port);
  return Buffer.from(new pp.V2ProxyProtocol(pp.Command.PROXY, pp.TransportProtocol.STREAM, address).build());
}
