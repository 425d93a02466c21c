/**
 * The byte path of one proxied connection: two pumps (a full destination pauses its source until
 * it drains, so nothing buffers without bound) with half-close passed through (allowHalfOpen on
 * both sockets: a client's FIN becomes the origin's FIN and the other direction goes on until the
 * origin ends too), an idle timeout over both directions, and an error or reset on one side
 * destroying the other.
 *
 * stream.pipe() does the same with about ten closures per direction; here every socket event
 * calls one shared function that finds its Splice through a symbol, so a connection allocates no
 * closures (less CPU per new connection, less memory per idle one). The idle timeout is a flag
 * that the owner's sweep reads every second (tick), not a timer per socket refreshed per chunk.
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Connects to `host:port` within `timeoutMs`; rejects with `{ reason: 'timeout' | 'error', message }`. Used by health probes. */
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

const kSplice = Symbol('splice');
type End = Duplex & { [kSplice]?: Splice };

/** Told once both sockets have closed: why it ended ('closed' when both sides finished, 'idle_timeout', or the first error). */
export interface SpliceOwner {
  spliced(reason: string): void;
}

export class Splice {
  readonly client: End;
  readonly origin: End;
  /** 'closed' until something goes wrong: then the first reason. */
  reason = 'closed';
  /** A byte went either way since the last tick. */
  active = false;
  readonly #owner: SpliceOwner;
  readonly #idleMs: number;
  /** The tick (epoch ms) that last saw a byte, or the start. */
  #since = Date.now();
  #open = 2;

  /** Pipes `client` and `origin` into each other until both have closed; `idleMs` without a byte either way closes both (see tick). */
  constructor(client: Duplex, origin: Socket, idleMs: number, owner: SpliceOwner) {
    this.client = client;
    this.origin = origin;
    this.#owner = owner;
    this.#idleMs = idleMs;
    attach(this, client);
    attach(this, origin);
    // A side that closed before the splice began (its 'close' already emitted) closes the other.
    if (client.closed) this.closed(client);
    if (origin.closed) this.closed(origin);
  }

  /**
   * Called by the owner every second or so, at `now` (epoch ms): once no tick has seen a byte for
   * `idleMs`, both sides close. So the idle time before closing is between idleMs and idleMs plus
   * the tick period, never less.
   */
  tick(now: number): void {
    if (this.active) [this.active, this.#since] = [false, now];
    else if (now - this.#since >= this.#idleMs) this.fail('idle_timeout');
  }

  peer(side: End): End {
    return side === this.client ? this.origin : this.client;
  }

  /** Destroys both sides; the first reason given is kept. */
  fail(why: string): void {
    if (this.reason === 'closed') this.reason = why;
    this.client.destroy();
    this.origin.destroy();
  }

  closed(side: End): void {
    // A side that closed without its read end finishing was reset: the other goes too.
    if (!side.readableEnded) this.fail(`${side === this.client ? 'client' : 'origin'} reset`);
    else if (side.errored) this.fail(side.errored.message);
    if (--this.#open === 0) this.#owner.spliced(this.reason);
  }
}

function attach(splice: Splice, side: End): void {
  side[kSplice] = splice;
  side.on('data', onData).on('drain', onDrain).on('end', onEnd).on('error', onError).on('close', onClose);
  side.resume(); // the client socket was accepted paused (pauseOnConnect), so a 'data' listener alone does not start it
}

function onData(this: End, chunk: Buffer): void {
  const splice = this[kSplice]!;
  splice.active = true;
  if (!splice.peer(this).write(chunk)) this.pause();
}
/** This side can take more: its source may flow again. */
function onDrain(this: End): void {
  this[kSplice]!.peer(this).resume();
}
function onEnd(this: End): void {
  this[kSplice]!.peer(this).end();
}
function onError(this: End, e: Error): void {
  const splice = this[kSplice]!;
  splice.fail(`${this === splice.client ? 'client' : 'origin'}: ${e.message}`);
}
function onClose(this: End): void {
  this[kSplice]!.closed(this);
}
