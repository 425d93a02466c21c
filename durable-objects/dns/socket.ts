/**
 * The RFC 2136 provider's DnsTransport in the Workers runtime: TCP through `connect()` from
 * cloudflare:sockets (Workers have no UDP). It only moves bytes; the DNS-over-TCP length framing
 * and the deadline are dns/rfc2136/transport.ts's.
 */
import { connect } from 'cloudflare:sockets';
import type { DnsConnection, DnsTransport } from '../../dns/rfc2136/transport.ts';

/**
 * A DnsTransport over Workers TCP sockets. `connect` resolves once the socket is open (`opened`)
 * and rejects when it cannot be (refused, unroutable, a destination Workers forbid).
 */
export function socketDnsTransport(): DnsTransport {
  return {
    async connect(host, port) {
      const socket = connect({ hostname: host, port });
      const closeQuietly = () => void socket.close().catch(() => {});
      try {
        await socket.opened;
      } catch (e) {
        closeQuietly();
        throw e;
      }
      const writer = socket.writable.getWriter();
      const reader = socket.readable.getReader();
      const connection: DnsConnection = {
        write: (bytes) => writer.write(bytes),
        async read() {
          const { value, done } = await reader.read();
          return done ? null : (value as Uint8Array);
        },
        close: closeQuietly,
      };
      return connection;
    },
  };
}
