/**
 * A real HTTP origin on loopback, for the demo (`npm start`), the tests and the benchmark.
 * Answers every request with JSON `{origin, method, path, headers, body}`, echoes WebSocket
 * messages (prefixed with its name), and can be told to fail, stall, stop and start again.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';

/** How the origin answers: normally (200), with a fixed error status, or never (stall). */
export type OriginMode = 'ok' | 'stall' | { status: number };

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export class OriginServer {
  readonly name: string;
  port = 0;
  mode: OriginMode = 'ok';
  /** Requests to this path answer 200 whatever `mode` says (unless stalled): an origin that
   * passes its health probe while failing real traffic. */
  probePath = '/health';
  /** Requests answered since start (not reset by stop/start). */
  readonly seen: SeenRequest[] = [];
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  /** Body of every answer: false for the benchmark, which wants the smallest possible origin. */
  readonly #record: boolean;

  /** The loopback address it listens on (127.0.0.1 by default; any 127.x.y.z works on Linux). */
  readonly host: string;

  constructor(name: string, options: { record?: boolean; host?: string } = {}) {
    this.name = name;
    this.#record = options.record ?? true;
    this.host = options.host ?? '127.0.0.1';
  }

  /** Listens on `host` (`port` 0 = any free port; reuses the last port after a stop). */
  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => this.#handle(req, res));
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`${this.name}:${String(m)}`)));
    });
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
    return this;
  }

  /** Closes the listener and destroys every open connection, as a crashed process would. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const mode = this.mode;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (this.#record) this.seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      if (mode === 'stall') return; // never answers; the socket dies on stop()
      const status = mode === 'ok' || req.url === this.probePath ? 200 : mode.status;
      res.writeHead(status, { 'content-type': 'application/json', 'x-origin': this.name, connection: 'keep-alive', 'keep-alive': 'timeout=65' });
      res.end(this.#record ? JSON.stringify({ origin: this.name, method: req.method, path: req.url, headers: req.headers, body }) : this.name);
    });
  }
}

/** Starts `names.length` origins on free loopback ports (or the given ports). */
export async function startOrigins(names: string[], ports: number[] = []): Promise<OriginServer[]> {
  return Promise.all(names.map((n, i) => new OriginServer(n).start(ports[i] ?? 0)));
}
