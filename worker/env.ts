import type { ConfigStore, ConfigStoreClient } from '../durable-objects/config-store/index.ts';

/** Bindings of the Worker (wrangler.toml, secrets, .dev.vars). */
export interface Env {
  CONFIG_STORE: DurableObjectNamespace<ConfigStore>;
  /** Secret bearer token of the admin API; unset means the admin API refuses every request. */
  ADMIN_TOKEN?: string;
  /** Comma-separated hostnames (no ports) that serve the admin API; default "localhost,127.0.0.1". */
  ADMIN_HOSTS?: string;
}

/** The single ConfigStore instance: the one client every module goes through. */
export function configStore(env: Env): ConfigStoreClient {
  return env.CONFIG_STORE.get(env.CONFIG_STORE.idFromName('global')) as unknown as ConfigStoreClient;
}
