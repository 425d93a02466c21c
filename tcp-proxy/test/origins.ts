/** Real TCP origins on 127.0.0.1 for the tcp-proxy tests: an echo server that can say who it is, and stop; and a client `dial`. */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A port free on 127.0.0.1 now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Origin {
  name: string;
  port: number;
  server: Server;
  sockets: Set<Socket>;
  /** Connections accepted so far. */
  accepted: number;
  stop(): Promise<void>;
}

/**
 * An origin: on connect it writes `<name>\n` when `greet`, then echoes. `onSocket` replaces the
 * echo (e.g. to read a PROXY header first).
 */
export async function startOrigin(name: string, opts: { greet?: boolean; onSocket?: (s: Socket) => void } = {}): Promise<Origin> {
  const sockets = new Set<Socket>();
  const origin: Origin = {
    name,
    port: 0,
    sockets,
    accepted: 0,
    server: createServer({ allowHalfOpen: true }, (s) => {
      origin.accepted++;
      sockets.add(s);
      s.on('close', () => sockets.delete(s)).on('error', () => undefined);
      if (opts.onSocket) return opts.onSocket(s);
      if (opts.greet !== false) s.write(`${name}\n`);
      s.pipe(s);
    }),
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        origin.server.close(() => resolve());
      }),
  };
  await new Promise<void>((r) => origin.server.listen(0, '127.0.0.1', r));
  origin.port = (origin.server.address() as { port: number }).port;
  return origin;
}

/** A client connection to `port` on 127.0.0.1 (allowHalfOpen: it can half-close and still read); rejects with the connect error. */
export const dial = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    s.once('connect', () => resolve(s)).once('error', reject);
  });
