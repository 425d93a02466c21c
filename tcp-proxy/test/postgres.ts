/**
 * A real PostgreSQL server (Debian's `postgresql` package) on 127.0.0.1, as the "real protocol"
 * origin of the TCP mode tests: `initdb` into a mkdtemp directory (trust authentication, user
 * `postgres`), then `postgres` in the foreground. PostgreSQL refuses to run as root, so under
 * root both run as `nobody` (setpriv). `postgresBin()` is undefined when the server is not
 * installed: the tests that need it are skipped, saying why.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The directory holding `initdb` and `postgres` (Debian: /usr/lib/postgresql/<version>/bin), or undefined. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb')));
}

export interface Postgres {
  port: number;
  stop(): Promise<void>;
}

const NOBODY = 65534;

/** Starts PostgreSQL on 127.0.0.1:`port`; resolves once it accepts TCP connections (a few seconds at most). */
export async function startPostgres(bin: string, port: number): Promise<Postgres> {
  const dir = mkdtempSync(join(tmpdir(), 'tcp-proxy-postgres-'));
  const root = process.getuid?.() === 0;
  if (root) (chmodSync(dir, 0o700), chownSync(dir, NOBODY, NOBODY));
  const as = (cmd: string, args: string[]): [string, string[]] =>
    root ? ['setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', cmd, ...args]] : [cmd, args];
  const data = join(dir, 'data');
  const init = spawnSync(...as(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']), { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  let log = '';
  const server: ChildProcess = spawn(
    ...as(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => server.once('exit', () => r()));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT'); // fast shutdown
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = connect({ port, host: '127.0.0.1' }, () => (s.destroy(), r(true))).once('error', () => r(false));
    });
    if (up) return { port, stop };
    if (server.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`PostgreSQL did not start:\n${log}`);
}
