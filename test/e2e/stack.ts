/** Set-up and tear-down shared by the end-to-end files: a temporary state directory, and stopping what a file started. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OriginServer } from '../../scripts/lib/origin-server.ts';
import type { WranglerDev } from '../../scripts/lib/wrangler-dev.ts';
import { send, type Sent } from '../http-client.ts';

/** A fresh directory for Durable Object state (wrangler dev `--persist-to`). */
export const tempState = (prefix: string): string => mkdtempSync(join(tmpdir(), `edge-lb-${prefix}-`));

/** Stops the Worker and the origins (any may be missing if set-up failed) and removes the state. */
export async function teardown(worker: WranglerDev | undefined, servers: (OriginServer | undefined)[], state: string | undefined): Promise<void> {
  await worker?.stop();
  await Promise.all(servers.map((o) => o?.stop()));
  if (state) rmSync(state, { recursive: true, force: true });
}

/** An admin API call: `path` under /admin/v1 of the Worker at `url`, bearer `token`, `body` as JSON; the raw answer. */
export function adminCall(url: string, token: string, path: string, method = 'GET', body?: unknown): Promise<Sent> {
  return send(`${url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The envelope's `result` of an admin call that must answer 200; throws naming the call and its answer otherwise. */
export async function adminResult<T>(url: string, token: string, path: string, method = 'GET', body?: unknown): Promise<T> {
  const res = await adminCall(url, token, path, method, body);
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
  return (JSON.parse(res.body) as { result: T }).result;
}
