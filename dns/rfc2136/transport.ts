/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): the two-byte length framing and pipelining of several
 * messages on one connection, in pure code. A runtime adapter (DnsTransport) only moves bytes:
 * Workers' `connect()` from cloudflare:sockets (durable-objects/dns/socket.ts), node:net in tests
 * (test/fixtures/dns-tcp.ts). Workers have no UDP, hence TCP for queries as well as updates.
 */

/** One open TCP connection. */
export interface DnsConnection {
  /** Sends bytes; rejects when the connection failed. */
  write(bytes: Uint8Array): Promise<void>;
  /** The next bytes received (any chunking), or null at end of stream; rejects on a connection error. */
  read(): Promise<Uint8Array | null>;
  /** Closes the connection (idempotent, never throws). */
  close(): void;
}

/** Opens TCP connections; what a runtime gives the RFC 2136 provider. */
export interface DnsTransport {
  /** Connects to `host`:`port`; rejects when the connection cannot be made. */
  connect(host: string, port: number): Promise<DnsConnection>;
}

/** Why an exchange failed: the connection (refused, reset, closed early) or the deadline. */
export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportError';
  }
}

/** Prefixes each message with its length (RFC 1035 §4.2.2), concatenated into one buffer. */
export function frame(messages: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(messages.reduce((n, m) => n + 2 + m.length, 0));
  let at = 0;
  for (const m of messages) {
    if (m.length > 0xffff) throw new RangeError(`DNS message of ${m.length} bytes exceeds 65535`);
    out[at] = m.length >> 8;
    out[at + 1] = m.length & 0xff;
    out.set(m, at + 2);
    at += 2 + m.length;
  }
  return out;
}

/**
 * Sends `messages` on one connection (pipelined, RFC 7766 §6.2.1.1) and returns the responses in
 * the order of `messages`, matched by message ID (the first two bytes; IDs must be distinct).
 * Responses to unknown IDs are ignored. Everything, connecting included, must finish within
 * `timeoutMs` (ms). Throws TransportError on a connection failure, an early close or the deadline.
 */
export async function exchange(transport: DnsTransport, host: string, port: number, messages: Uint8Array[], timeoutMs: number): Promise<Uint8Array[]> {
  const ids = messages.map((m) => (m[0]! << 8) | m[1]!);
  if (new Set(ids).size !== ids.length) throw new RangeError('exchange: message IDs must be distinct');
  let connection: DnsConnection | undefined;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransportError(`no answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
  });
  const work = async () => {
    const c = await transport.connect(host, port).catch((e: unknown) => {
      throw new TransportError(`cannot connect to ${host}:${port}: ${messageOf(e)}`);
    });
    if (closed) return (c.close(), []);
    connection = c;
    await c.write(frame(messages));
    const answers = new Map<number, Uint8Array>();
    let buffered: Uint8Array = new Uint8Array(0);
    while (answers.size < ids.length) {
      const chunk = await c.read();
      if (chunk === null) throw new TransportError(`${host}:${port} closed the connection after ${answers.size} of ${ids.length} answers`);
      buffered = concat(buffered, chunk);
      while (buffered.length >= 2) {
        const length = (buffered[0]! << 8) | buffered[1]!;
        if (buffered.length < 2 + length) break;
        const message = buffered.slice(2, 2 + length);
        buffered = buffered.slice(2 + length);
        if (message.length >= 2) {
          const id = (message[0]! << 8) | message[1]!;
          if (ids.includes(id)) answers.set(id, message);
        }
      }
    }
    return ids.map((id) => answers.get(id)!);
  };
  const working = work();
  working.catch(() => {}); // settles after the deadline: already reported
  try {
    return await Promise.race([working, deadline]);
  } catch (e) {
    throw e instanceof TransportError ? e : new TransportError(`${host}:${port}: ${messageOf(e)}`);
  } finally {
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    connection?.close();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The message of an Error, or the thrown value as text. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
