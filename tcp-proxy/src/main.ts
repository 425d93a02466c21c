/**
 * Entry point: `node tcp-proxy/src/main.ts` (Node ≥ 22.18 runs TypeScript by stripping types).
 * Exits 1 with one `startup_failed` line naming the cause (a port in use, a bad setting); on
 * SIGTERM or SIGINT drains (proxy.ts stop) and exits 0.
 */
import { jsonLog } from './log.ts';
import { TcpProxy } from './proxy.ts';
import { settingsFrom } from './settings.ts';

const log = jsonLog();
let proxy: TcpProxy;
try {
  proxy = new TcpProxy(settingsFrom(process.env), log);
  await proxy.start();
  log('started', { pid: process.pid });
} catch (e) {
  log('startup_failed', { reason: e instanceof Error ? e.message : String(e) });
  log.flush();
  process.stderr.write(`tcp-proxy: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log('signal', { signal });
  const cut = await proxy.stop();
  log('stopped', { connections_cut: cut });
  log.flush();
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
