/**
 * The image, where a Docker engine runs: build tcp-proxy/Dockerfile, start a container from a saved
 * state (no admin API: it must serve from /var/lib/tcp-proxy/state.json) on the host network, and
 * make one TCP round trip through it to an origin on 127.0.0.1. Skipped, saying why, when
 * `docker info` fails (this workplace has the client but no engine).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, startOrigin } from './origins.ts';
import { writeSavedState } from './saved-state.ts';

const docker = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;

describe('container', () => {
  it.skipIf(!docker)(
    'builds, starts from saved state and proxies a TCP round trip (skipped when `docker info` fails: no Docker engine)',
    async () => {
      const origin = await startOrigin('in-container');
      const [listen, ops] = [await freePort(), await freePort()];
      const state = mkdtempSync(join(tmpdir(), 'tcp-proxy-image-'));
      writeSavedState(state, { originPort: origin.port, listenPort: listen });
      chmodSync(state, 0o777);
      const name = `tcp-proxy-test-${process.pid}`;
      try {
        execFileSync('docker', ['build', '-q', '-f', 'tcp-proxy/Dockerfile', '-t', 'edge-lb-tcp-proxy:test', '.'], { stdio: 'ignore', timeout: 300_000 });
        execFileSync('docker', [
          'run',
          '-d',
          '--rm',
          '--name',
          name,
          '--network',
          'host',
          '-v',
          `${state}:/var/lib/tcp-proxy`,
          '-e',
          'TCP_PROXY_ADMIN_URL=http://127.0.0.1:9',
          '-e',
          'TCP_PROXY_TOKEN=unused',
          '-e',
          `TCP_PROXY_OPS_PORT=${ops}`,
          '-e',
          'TCP_PROXY_LISTEN_HOST=127.0.0.1',
          'edge-lb-tcp-proxy:test',
        ]);
        let answer = '';
        for (let i = 0; i < 100 && !answer; i++) {
          answer = await new Promise<string>((resolve) => {
            const s = connect({ port: listen, host: '127.0.0.1' }, () => s.end('hi'));
            let got = '';
            s.on('data', (d) => (got += d.toString()))
              .on('close', () => resolve(got))
              .on('error', () => resolve(''));
          });
          if (!answer) await new Promise((r) => setTimeout(r, 200));
        }
        expect(answer).toBe('in-container\nhi');
      } finally {
        spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
        await origin.stop();
        rmSync(state, { recursive: true, force: true });
      }
    },
    400_000,
  );
});
