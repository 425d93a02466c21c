/**
 * CPU profile of a Worker under load, through workerd's inspector (Chrome DevTools Protocol):
 * `BENCH_PROFILE=1 npm run bench` prints the functions with the most self time.
 */
import WebSocket from 'ws';

export interface ProfileEntry {
  percent: number;
  name: string;
}

/** Profiles worker `name` on the inspector at `inspectorPort` while `work` runs. */
export async function profileWorker(inspectorPort: number, name: string, work: () => Promise<unknown>): Promise<ProfileEntry[]> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const target = targets.find((t) => t.webSocketDebuggerUrl.endsWith(`/${name}`));
  if (!target) throw new Error(`no inspector target for worker ${name}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on('message', (m) => {
    const msg = JSON.parse(String(m)) as { id?: number; result?: unknown };
    if (msg.id && pending.has(msg.id)) (pending.get(msg.id)!(msg.result), pending.delete(msg.id));
  });
  const call = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      pending.set(++id, resolve as (r: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 100 });
  await call('Profiler.start');
  await work();
  type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number } };
  const { profile } = await call<{ profile: { nodes: Node[]; samples: number[] } }>('Profiler.stop');
  ws.close();
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const sample of profile.samples) {
    const f = nodes.get(sample)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.split('/').pop()}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  return [...self].sort((a, b) => b[1] - a[1]).map(([fn, n]) => ({ percent: (100 * n) / profile.samples.length, name: fn }));
}
