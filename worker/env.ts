import type { ConfigStore, ConfigStoreClient } from '../durable-objects/config-store/index.ts';
import type { LbState } from '../durable-objects/lb-state/index.ts';

/** Bindings of the Worker (wrangler.toml, secrets, .dev.vars). */
export interface Env {
  CONFIG_STORE: DurableObjectNamespace<ConfigStore>;
  LB_STATE: DurableObjectNamespace<LbState>;
  /** Secret bearer token of the admin API; unset means the admin API refuses every request. */
  ADMIN_TOKEN?: string;
  /** Secret that signs session affinity cookies; when unset, one is derived from ADMIN_TOKEN. */
  AFFINITY_SECRET?: string;
  /** Comma-separated hostnames (no ports) that serve the admin API; default "localhost,127.0.0.1". */
  ADMIN_HOSTS?: string;
}

/** The single ConfigStore instance: the one client every module goes through. */
export function configStore(env: Env): ConfigStoreClient {
  return env.CONFIG_STORE.get(env.CONFIG_STORE.idFromName('global')) as unknown as ConfigStoreClient;
}

type LbMethods = 'sync' | 'snapshot' | 'report' | 'events' | 'records' | 'affinityGet' | 'affinityPut';
/** An LbState's RPC methods with plain promise types (see ConfigStoreClient). */
export type LbStateClient = { [M in LbMethods]: (...args: Parameters<LbState[M]>) => Promise<ReturnType<LbState[M]> extends Promise<infer R> ? R : ReturnType<LbState[M]>> };

/** The LbState of load balancer `lbId`. */
export function lbState(env: { LB_STATE: DurableObjectNamespace<LbState> }, lbId: string): LbStateClient {
  return env.LB_STATE.get(env.LB_STATE.idFromName(lbId)) as unknown as LbStateClient;
}
