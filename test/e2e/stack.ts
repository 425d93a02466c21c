/** Set-up and tear-down shared by the end-to-end files: a temporary state directory, and stopping what a file started. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OriginServer } from '../../scripts/lib/origin-server.ts';
import type { WranglerDev } from '../../scripts/lib/wrangler-dev.ts';

/** A fresh directory for Durable Object state (wrangler dev `--persist-to`). */
export const tempState = (prefix: string): string => mkdtempSync(join(tmpdir(), `edge-lb-${prefix}-`));

/** Stops the Worker and the origins (any may be missing if set-up failed) and removes the state. */
export async function teardown(worker: WranglerDev | undefined, servers: (OriginServer | undefined)[], state: string | undefined): Promise<void> {
  await worker?.stop();
  await Promise.all(servers.map((o) => o?.stop()));
  if (state) rmSync(state, { recursive: true, force: true });
}
