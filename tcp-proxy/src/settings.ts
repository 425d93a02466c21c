/**
 * The proxy's settings, from environment variables, validated with zod (an invalid one stops the
 * start with its name). Times in seconds unless the name says ms.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const Env = z
  .object({
    TCP_PROXY_ADMIN_URL: z.url({ protocol: /^https?$/, error: 'must be the http(s) URL of the admin API, e.g. https://lb.example.com' }),
    TCP_PROXY_TOKEN: z.string().min(1).optional().describe('a read-only admin token (ADMIN_READ_TOKENS), also in CERT_KEY_TOKENS for TLS apps'),
    TCP_PROXY_TOKEN_FILE: z.string().min(1).optional().describe('a file holding the token (a Docker secret)'),
    TCP_PROXY_STATE_DIR: z.string().min(1).default('/var/lib/tcp-proxy'),
    TCP_PROXY_LISTEN_HOST: z.string().min(1).default('0.0.0.0'),
    TCP_PROXY_OPS_HOST: z.string().min(1).default('0.0.0.0'),
    TCP_PROXY_OPS_PORT: z.coerce.number<string>().int().min(0).max(65535).default(9090),
    TCP_PROXY_POLL_MS: z.coerce.number<string>().int().min(200).max(60_000).default(1000),
    TCP_PROXY_DRAIN_TIMEOUT: z.coerce.number<string>().min(0).max(3600).default(30),
    TCP_PROXY_APPS: z.string().default('').describe('comma-separated TCP app ids or names to serve; empty = every enabled app'),
  })
  .refine((e) => e.TCP_PROXY_TOKEN || e.TCP_PROXY_TOKEN_FILE, { path: ['TCP_PROXY_TOKEN'], message: 'TCP_PROXY_TOKEN or TCP_PROXY_TOKEN_FILE is required' });

export interface Settings {
  adminUrl: string;
  token: string;
  stateDir: string;
  listenHost: string;
  opsHost: string;
  opsPort: number;
  pollMs: number;
  drainTimeoutS: number;
  apps: string[];
}

/** Settings from `env`; throws an Error listing every invalid variable. */
export function settingsFrom(env: Record<string, string | undefined>): Settings {
  const parsed = Env.safeParse(env);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const e = parsed.data;
  return {
    adminUrl: e.TCP_PROXY_ADMIN_URL,
    token: (e.TCP_PROXY_TOKEN ?? readFileSync(e.TCP_PROXY_TOKEN_FILE!, 'utf8')).trim(),
    stateDir: e.TCP_PROXY_STATE_DIR,
    listenHost: e.TCP_PROXY_LISTEN_HOST,
    opsHost: e.TCP_PROXY_OPS_HOST,
    opsPort: e.TCP_PROXY_OPS_PORT,
    pollMs: e.TCP_PROXY_POLL_MS,
    drainTimeoutS: e.TCP_PROXY_DRAIN_TIMEOUT,
    apps: e.TCP_PROXY_APPS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}
