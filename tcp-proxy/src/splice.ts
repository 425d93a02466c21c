/**
 * The byte path of one proxied connection: connecting to an origin with a deadline, then two
 * pipes (Node's stream.pipe: a full destination pauses its source, so nothing buffers without
 * bound) with half-close passed through (allowHalfOpen on both sockets: a client's FIN becomes
 * the origin's FIN and the other direction goes on until the origin ends too), an idle timeout
 * over both directions, and an error or reset on one side destroying the other.
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Connects to `host:port` within `timeoutMs`; rejects with `{ reason: 'timeout' | 'error', message }`. */
export function connectWithin(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`), { reason: 'timeout' as const }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      socket.destroy();
      reject(Object.assign(e, { reason: 'error' as const }));
    });
  });
}

export interface Spliced {
  /** Why it ended: 'closed' (both sides finished), 'idle_timeout', or the first error's message. */
  reason: string;
}

/**
 * Pipes `client` and `origin` into each other until both are done; resolves once both sockets
 * have closed. `idleMs`: no byte either way for this long closes both.
 */
export function splice(client: Duplex & { setTimeout(ms: number): unknown }, origin: Socket, idleMs: number): Promise<Spliced> {
  return new Promise((resolve) => {
    let reason = 'closed';
    let open = 2;
    const fail = (why: string) => {
      if (reason === 'closed') reason = why;
      client.destroy();
      origin.destroy();
    };
    const closed = (side: Duplex, other: Duplex) => () => {
      // A side that closed without its read end finishing was reset: the other goes too.
      if (!side.readableEnded) fail(`${side === client ? 'client' : 'origin'} reset`);
      else if (side.errored) fail(side.errored.message);
      if (--open === 0) resolve({ reason });
      void other;
    };
    client.on('error', (e: Error) => fail(`client: ${e.message}`));
    origin.on('error', (e: Error) => fail(`origin: ${e.message}`));
    client.once('close', closed(client, origin));
    origin.once('close', closed(origin, client));
    client.setTimeout(idleMs);
    origin.setTimeout(idleMs);
    client.on('timeout', () => fail('idle_timeout'));
    origin.on('timeout', () => fail('idle_timeout'));
    client.pipe(origin);
    origin.pipe(client);
  });
}
