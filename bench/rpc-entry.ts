/**
 * Bench-only Worker entry (bench/rpc-rate.ts bundles it in place of worker/index.ts): the real
 * Worker, unchanged, with its two Durable Object classes subclassed so that every call of a
 * method on their prototypes (every RPC method, plus `alarm`) is counted, per class and method,
 * before the real method runs. Nothing in production code knows about it.
 *
 * Counts live inside the Durable Objects' isolate, in two places: per instance (so a load
 * balancer's own figures can be told apart) and per class at module level (so they survive the
 * instance being evicted and recreated, as long as the isolate lives). `GET /__bench/rpc-counts`
 * (any host; this bundle only runs in the benchmark) asks ConfigStore "global" and the LbState of
 * each id in `?lb=a,b` through one uncounted extra method, `__counts()`, and answers them with the
 * entry isolate's id; every other request goes to the real Worker's `fetch` untouched.
 */
import worker, { ConfigStore as RealConfigStore, LbState as RealLbState } from '../worker/index.ts';

/** One id per isolate (module instance), made on first use (no randomness at global scope): equal ids mean one isolate. */
let isolate: { id: string; started: number } | undefined;
const isolateOf = () => (isolate ??= { id: crypto.randomUUID().slice(0, 8), started: Date.now() });

export type MethodCounts = Record<string, number>;
export interface CountsReply {
  isolate: string;
  /** When this isolate first counted (epoch ms). */
  isolateStarted: number;
  /** This instance: a random id per construction (a new id = evicted and recreated). */
  instance: string;
  instanceStarted: number;
  own: MethodCounts;
  /** Every instance of the class in this isolate, since the isolate started. */
  classTotal: MethodCounts;
  /** The methods counted. */
  instrumented: string[];
}
export interface RpcCounts {
  entryIsolate: string;
  at: number;
  config: CountsReply;
  lbState: Record<string, CountsReply>;
}

const classTotals: Record<string, MethodCounts> = {};
const instrumented: Record<string, string[]> = {};

/** Per instance: kept outside the object, so nothing runs before or inside the real constructor. */
interface Own {
  id: string;
  started: number;
  counts: MethodCounts;
}
const owns = new WeakMap<object, Own>();
const ownOf = (self: object): Own => {
  let o = owns.get(self);
  if (!o) owns.set(self, (o = { id: crypto.randomUUID().slice(0, 8), started: Date.now(), counts: {} }));
  return o;
};

type Ctor = abstract new (...args: never[]) => object;

/** The method names to count: everything callable on the class's prototype chain below DurableObject. */
function methodNames(base: Ctor): string[] {
  const names = new Set<string>();
  for (let p = base.prototype as object | null; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    if (p.constructor?.name === 'DurableObject' || p.constructor?.name === 'DurableObjectBase') break;
    for (const n of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, n);
      if (n !== 'constructor' && typeof d?.value === 'function') names.add(n);
    }
  }
  return [...names];
}

/** Defines a counting override of every method of `base` on `sub`'s prototype. */
function instrument(sub: { prototype: object }, base: Ctor, className: string): void {
  const total = (classTotals[className] = {} as MethodCounts);
  instrumented[className] = methodNames(base);
  for (const name of instrumented[className]) {
    const real = (base.prototype as Record<string, (...a: unknown[]) => unknown>)[name]!;
    Object.defineProperty(sub.prototype, name, {
      configurable: true,
      writable: true,
      value: function (this: object, ...args: unknown[]) {
        const own = ownOf(this).counts;
        own[name] = (own[name] ?? 0) + 1;
        total[name] = (total[name] ?? 0) + 1;
        return real.apply(this, args);
      },
    });
  }
}

function reply(self: object, className: string): CountsReply {
  const own = ownOf(self);
  return {
    isolate: isolateOf().id,
    isolateStarted: isolateOf().started,
    instance: own.id,
    instanceStarted: own.started,
    own: { ...own.counts },
    classTotal: { ...classTotals[className] },
    instrumented: instrumented[className] ?? [],
  };
}

export class ConfigStore extends RealConfigStore {
  __counts(): CountsReply {
    return reply(this, 'ConfigStore');
  }
}
instrument(ConfigStore, RealConfigStore, 'ConfigStore');

export class LbState extends RealLbState {
  __counts(): CountsReply {
    return reply(this, 'LbState');
  }
}
instrument(LbState, RealLbState, 'LbState');

/** The generated Env names the real classes; this bundle binds the counting subclasses. */
type BenchEnv = Omit<Env, 'CONFIG_STORE' | 'LB_STATE'> & {
  CONFIG_STORE: DurableObjectNamespace<ConfigStore>;
  LB_STATE: DurableObjectNamespace<LbState>;
};

export default {
  ...worker,
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname !== '/__bench/rpc-counts') return worker.fetch(request, env, ctx);
    const e = env as unknown as BenchEnv;
    const ids = (url.searchParams.get('lb') ?? '').split(',').filter(Boolean);
    const [config, ...states] = await Promise.all([e.CONFIG_STORE.getByName('global').__counts(), ...ids.map((id) => e.LB_STATE.getByName(id).__counts())]);
    const body: RpcCounts = {
      entryIsolate: isolateOf().id,
      at: Date.now(),
      config: config as CountsReply,
      lbState: Object.fromEntries(ids.map((id, i) => [id, states[i] as CountsReply])),
    };
    return Response.json(body);
  },
} satisfies ExportedHandler<Env>;
