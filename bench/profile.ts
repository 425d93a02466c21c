/**
 * CPU profile of a Worker under load, through workerd's inspector (Chrome DevTools Protocol):
 * `BENCH_PROFILE=1 npm run bench` prints the functions with the most self time. `inspect` (one
 * DevTools session on a worker) is bench/heap.ts's too.
 */
import WebSocket from 'ws';

export interface ProfileEntry {
  percent: number;
  name: string;
}

/** One DevTools Protocol command: resolves with its result, rejects with the error it answered. */
export type Call = <T>(method: string, params?: object) => Promise<T>;

/**
 * A DevTools session on the inspector target of workerd's service `name` (the inspector on
 * 127.0.0.1:`port`); `events` gets every event (method, params). Messages up to 1 GiB (heap
 * snapshot chunks). Throws when no target is that service's.
 */
export async function inspect(
  port: number,
  name: string,
  events: (method: string, params: Record<string, unknown>) => void = () => undefined,
): Promise<{ call: Call; close(): void }> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const target = targets.find((t) => t.webSocketDebuggerUrl.endsWith(`/${name}`));
  if (!target) throw new Error(`no inspector target for worker ${name}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl, { maxPayload: 1 << 30 });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (m) => {
    const msg = JSON.parse(String(m)) as { id?: number; result?: unknown; error?: unknown; method?: string; params?: Record<string, unknown> };
    const p = msg.id ? pending.get(msg.id) : undefined;
    if (p) (msg.error ? p.reject(new Error(JSON.stringify(msg.error))) : p.resolve(msg.result), pending.delete(msg.id!));
    else if (msg.method) events(msg.method, msg.params ?? {});
  });
  const call: Call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      pending.set(++id, { resolve: resolve as (r: unknown) => void, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { call, close: () => ws.close() };
}

/** Profiles worker `name` on the inspector at `inspectorPort` while `work` runs. */
export async function profileWorker(inspectorPort: number, name: string, work: () => Promise<unknown>): Promise<ProfileEntry[]> {
  const { call, close } = await inspect(inspectorPort, name);
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 100 });
  await call('Profiler.start');
  await work();
  type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number } };
  const { profile } = await call<{ profile: { nodes: Node[]; samples: number[] } }>('Profiler.stop');
  close();
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const sample of profile.samples) {
    const f = nodes.get(sample)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.split('/').pop()}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  return [...self].sort((a, b) => b[1] - a[1]).map(([fn, n]) => ({ percent: (100 * n) / profile.samples.length, name: fn }));
}
