/**
 * Bindings of the Worker: what `npm run types` generates from wrangler.toml into
 * worker-configuration.d.ts (the global `Env`, also `Cloudflare.Env`: the type of the `env` of
 * `cloudflare:workers` and `cloudflare:test`), plus the optional secrets declared below.
 */
export type Env = Cloudflare.Env;

// `wrangler types` can type secrets only as required strings, and only from .dev.vars (which
// differs per machine and is absent in CI) or from wrangler.toml's `secrets.required` (which also
// makes `wrangler deploy` fail while one is unset and `wrangler dev` ignore other .dev.vars keys).
// Ours are optional, so they are declared here, merged into both generated interfaces.
declare global {
  interface Env {
    /** Secret bearer token of the admin API; unset means the admin API refuses every request. */
    ADMIN_TOKEN?: string;
    /** Secret that signs session affinity cookies; when unset, one is derived from ADMIN_TOKEN. */
    AFFINITY_SECRET?: string;
    /** Secret read-only bearer tokens of the admin API, comma separated: they may GET, never write. */
    ADMIN_READ_TOKENS?: string;
    /** Secret from which the AES-GCM key that encrypts TLS certificates' private keys is derived (durable-objects/config-store/certificates.ts). */
    CERT_KEY_SECRET?: string;
    /** Secret: the read-only tokens (also in ADMIN_READ_TOKENS) that may fetch certificate private keys (the TCP proxy's), comma separated. */
    CERT_KEY_TOKENS?: string;
  }
  namespace Cloudflare {
    interface Env {
      ADMIN_TOKEN?: string;
      AFFINITY_SECRET?: string;
      ADMIN_READ_TOKENS?: string;
      CERT_KEY_SECRET?: string;
      CERT_KEY_TOKENS?: string;
    }
  }
}
