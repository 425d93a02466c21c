/**
 * The one way the Worker reaches a Durable Object: a typed client of its contract (core/rpc).
 * Getting a stub hashes the name; callers on the hot path keep what they get.
 */
import type { Client, ConfigStoreApi, LbStateApi } from '../core/rpc/index.ts';

/** The single ConfigStore instance ("global"). */
export function configStore(env: Pick<Env, 'CONFIG_STORE'>): Client<ConfigStoreApi> {
  return env.CONFIG_STORE.getByName('global');
}

/** The LbState of load balancer `lbId`. */
export function lbState(env: Pick<Env, 'LB_STATE'>, lbId: string): Client<LbStateApi> {
  return env.LB_STATE.getByName(lbId);
}

/** One request's Durable Object clients and background work, from the Worker's env and ExecutionContext (worker/isolate Backends). */
export class WorkerBackends {
  readonly #env: Env;
  readonly #ctx: ExecutionContext;
  readonly affinitySecret: string | undefined;
  constructor(env: Env, ctx: ExecutionContext) {
    this.#env = env;
    this.#ctx = ctx;
    this.affinitySecret = env.AFFINITY_SECRET || undefined;
  }
  config(): Client<ConfigStoreApi> {
    return configStore(this.#env);
  }
  lbState(lbId: string): Client<LbStateApi> {
    return lbState(this.#env, lbId);
  }
  waitUntil(p: Promise<unknown>): void {
    this.#ctx.waitUntil(p);
  }
}
