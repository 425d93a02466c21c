/**
 * A saved state (`<dir>/state.json`, what AdminSource writes after a good poll and loadCache reads
 * back at start), so a proxy serves without an admin API: one pool with one origin on 127.0.0.1,
 * one load balancer, one TCP app. The minimal document core's importDocument accepts: absent
 * kinds default to [], ids are given, read-only fields (created_on, modified_on) are left out.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TcpApp } from '../../core/config/index.ts';

export interface SavedStateOptions {
  /** The origin's port on 127.0.0.1. */
  originPort: number;
  /** The TCP app's listen_port. */
  listenPort: number;
  /** More fields of the TCP app (e.g. max_connections), validated as an import would. */
  app?: Partial<Omit<TcpApp, 'id' | 'listen_port' | 'load_balancer' | 'created_on' | 'modified_on'>>;
}

/** Writes `<dir>/state.json` (the directory must exist); returns its path. */
export function writeSavedState(dir: string, { originPort, listenPort, app = {} }: SavedStateOptions): string {
  const config = {
    version: 1,
    pools: [{ id: 'p', name: 'p', origins: [{ name: 'o', address: '127.0.0.1', port: originPort }] }],
    load_balancers: [{ id: 'lb', name: 'tcp.example.test', default_pools: ['p'], fallback_pool: 'p' }],
    tcp_apps: [{ id: 'a', name: 'a', ...app, listen_port: listenPort, load_balancer: 'lb' }],
  };
  const file = join(dir, 'state.json');
  writeFileSync(file, JSON.stringify({ etag: '"config-1"', config, certificates: [] }));
  return file;
}
