/**
 * TLS termination with real certificates from the openssl CLI: the app's certificate by default,
 * an additional one when the client's SNI names it, the handshake through Node's TLS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_DOCUMENT, importDocument, type TcpApp } from '../../core/config/index.ts';
import type { CertificateMaterial } from '../../core/rpc/index.ts';
import { selfSigned } from '../test/self-signed.ts';
import { handshake, tlsOf } from './tls.ts';

const dir = mkdtempSync(join(tmpdir(), 'tcp-proxy-tls-'));
/** A self-signed ECDSA certificate for `name` (PKCS #8 key), as the admin API would hand it over. */
function material(id: string, name: string): CertificateMaterial {
  const { certificate, privateKey } = selfSigned(dir, name);
  return { id, fingerprint_sha256: id, certificate, private_key: privateKey };
}

let server: Server;
let port = 0;
beforeAll(async () => {
  const certificates = new Map([material('main', 'main.example.test'), material('extra', 'extra.example.test')].map((m) => [m.id, m]));
  const doc = importDocument(
    EMPTY_DOCUMENT,
    {
      pools: [{ id: 'p', name: 'p', origins: [{ name: 'o', address: '127.0.0.1', port: 1 }] }],
      load_balancers: [{ id: 'lb', name: 'tls.test', default_pools: ['p'], fallback_pool: 'p' }],
      tcp_apps: [{ id: 'a', name: 'a', listen_port: 1, load_balancer: 'lb', tls: 'terminate', certificate: 'main', additional_certificates: ['extra'] }],
    },
    { newId: () => 'x', now: () => new Date().toISOString() },
  );
  if (!doc.ok) throw new Error(JSON.stringify(doc.errors));
  const tls = tlsOf(doc.value.tcp_apps[0] as TcpApp, certificates)!;
  // Each accepted socket: the handshake, then "hello" in the clear over TLS.
  server = createServer(
    (raw) =>
      void handshake(raw, tls).then(
        (s) => s.end('hello'),
        () => raw.destroy(),
      ),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** The subject CN the server presented for `servername`, and what it sent. */
const presented = (servername: string) =>
  new Promise<[string, string]>((resolve, reject) => {
    const s = tlsConnect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false }, () => {
      let got = '';
      const cn = String(s.getPeerCertificate().subject.CN);
      s.on('data', (d) => (got += d)).on('end', () => resolve([cn, got]));
    }).on('error', reject);
  });

describe('TLS termination', () => {
  it('serves the certificate the SNI names, else the app certificate', async () => {
    expect(await presented('extra.example.test')).toEqual(['extra.example.test', 'hello']);
    expect(await presented('main.example.test')).toEqual(['main.example.test', 'hello']);
    expect(await presented('other.example.test')).toEqual(['main.example.test', 'hello']);
  });

  it('has no contexts for an app whose certificate is not available', () => {
    expect(tlsOf({ tls: 'terminate', certificate: 'gone', additional_certificates: [] } as unknown as TcpApp, new Map())).toBeUndefined();
  });
});
