/**
 * Certificates through the Worker's own fetch (SELF): real certificates made here with
 * @peculiar/x509 over WebCrypto (a CA, an intermediate, leaves), validated on upload by the same
 * parser, keys stored encrypted, never in a read; the key scope (CERT_KEY_TOKENS); TCP apps that
 * name a certificate; GET /config answering 304 to a current If-None-Match.
 */
import 'reflect-metadata';
import { BasicConstraintsExtension, SubjectAlternativeNameExtension, X509CertificateGenerator, type X509Certificate } from '@peculiar/x509';
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';

const ADMIN = 'http://localhost/admin/v1';
const call = (path: string, method = 'GET', body?: unknown, token = 'test-admin-token', headers: Record<string, string> = {}) =>
  SELF.fetch(`${ADMIN}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
type Errors = { errors: { message: string; path?: string }[] };

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
const keys = () => crypto.subtle.generateKey(EC, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
const pkcs8 = async (k: CryptoKey) =>
  `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...new Uint8Array((await crypto.subtle.exportKey('pkcs8', k)) as ArrayBuffer)))}\n-----END PRIVATE KEY-----`;

/** A certificate for `names` signed by `issuer` (self-signed without one), valid from `from` to `to` (epoch ms). */
async function issue(
  subject: string,
  own: CryptoKeyPair,
  issuer?: { cert: X509Certificate; keys: CryptoKeyPair },
  names: string[] = [],
  from = Date.now() - DAY,
  to = Date.now() + 90 * DAY,
) {
  const ca = !issuer;
  return X509CertificateGenerator.create({
    serialNumber: crypto.getRandomValues(new Uint8Array(8)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '01'),
    subject,
    issuer: issuer?.cert.subject ?? subject,
    notBefore: new Date(from),
    notAfter: new Date(to),
    signingAlgorithm: EC,
    publicKey: own.publicKey,
    signingKey: (issuer?.keys ?? own).privateKey,
    extensions: ca
      ? [new BasicConstraintsExtension(true, undefined, true)]
      : names.length
        ? [new SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value })))]
        : [],
  });
}

let root: { cert: X509Certificate; keys: CryptoKeyPair };
let mid: { cert: X509Certificate; keys: CryptoKeyPair };
let leafKeys: CryptoKeyPair;
let leaf: X509Certificate;
const pem = (...certs: X509Certificate[]) => certs.map((c) => c.toString('pem')).join('\n');

beforeAll(async () => {
  const rootKeys = await keys();
  root = { cert: await issue('CN=Test Root', rootKeys), keys: rootKeys };
  const midKeys = await keys();
  mid = { cert: await issue('CN=Test Intermediate', midKeys, root), keys: midKeys };
  leafKeys = await keys();
  leaf = await issue('CN=tcp.example.test', leafKeys, mid, ['tcp.example.test', '*.tcp.example.test']);
});

describe('certificates', () => {
  it('stores a valid chain, answers its metadata and never its key, but to the key scope', async () => {
    const key = await pkcs8(leafKeys.privateKey);
    const res = await call('/certificates', 'POST', { name: 'tcp', certificate: pem(leaf, mid.cert), private_key: key });
    expect(res.status).toBe(201);
    const { result } = await res.json<{ result: Record<string, unknown> & { id: string } }>();
    expect(result).toMatchObject({
      name: 'tcp',
      names: ['tcp.example.test', '*.tcp.example.test'],
      chain_length: 2,
      key_algorithm: 'ECDSA P-256',
      expires_in_days: 89,
    });
    expect(result.fingerprint_sha256).toMatch(/^[0-9a-f]{64}$/);
    for (const path of ['/certificates', `/certificates/${result.id}`, '/config']) {
      const text = await (await call(path)).text();
      expect(text, path).not.toContain('PRIVATE KEY');
    }
    expect((await call(`/certificates/${result.id}/key`, 'GET', undefined, 'test-read-token')).status).toBe(403);
    for (const token of ['test-admin-token', 'test-read-token-2']) {
      const got = await call(`/certificates/${result.id}/key`, 'GET', undefined, token);
      expect(got.status, token).toBe(200);
      const material = (await got.json<{ result: { certificate: string; private_key: string } }>()).result;
      expect(material.private_key.trim()).toBe(key);
      expect(material.certificate).toContain('BEGIN CERTIFICATE');
    }
    // A read-only token cannot upload.
    expect((await call('/certificates', 'POST', { name: 'x', certificate: pem(leaf), private_key: key }, 'test-read-token')).status).toBe(403);
  });

  it('refuses, naming the reason: a key of another certificate, an expired leaf, a chain out of order, no names, a PKCS #1 key, no PEM', async () => {
    const key = await pkcs8(leafKeys.privateKey);
    const other = await pkcs8((await keys()).privateKey);
    const expiredKeys = await keys();
    const expired = await issue('CN=old.example.test', expiredKeys, mid, ['old.example.test'], Date.now() - 30 * DAY, Date.now() - DAY);
    const nameless = await issue('O=No Names', leafKeys, mid);
    const cases: [object, string][] = [
      [{ certificate: pem(leaf, mid.cert), private_key: other }, "private_key: does not match the leaf certificate's public key"],
      [{ certificate: pem(expired, mid.cert), private_key: await pkcs8(expiredKeys.privateKey) }, 'certificate: the leaf (CN=old.example.test) expired on'],
      [
        { certificate: pem(leaf, root.cert, mid.cert), private_key: key },
        'certificate: chain out of order: certificate 1 (CN=tcp.example.test) is not issued by certificate 2 (CN=Test Root)',
      ],
      [{ certificate: pem(nameless), private_key: key }, 'certificate: the leaf names no DNS name'],
      [{ certificate: pem(leaf), private_key: key.replaceAll('PRIVATE KEY', 'EC PRIVATE KEY') }, 'private_key: must be PKCS #8'],
      [{ certificate: 'hello', private_key: key }, 'certificate: no PEM certificate'],
    ];
    for (const [body, message] of cases) {
      const res = await call('/certificates', 'POST', { name: 'bad', ...body });
      expect(res.status, message).toBe(400);
      expect((await res.json<Errors>()).errors[0]!.message).toContain(message);
    }
  });

  it('a TCP app names a certificate: it cannot be deleted while named; the app is a config resource (304 for a current If-None-Match)', async () => {
    const cert = await (
      await call('/certificates', 'POST', { name: 'app', certificate: pem(leaf, mid.cert), private_key: await pkcs8(leafKeys.privateKey) })
    ).json<{ result: { id: string } }>();
    const pool = await (
      await call('/pools', 'POST', { name: 'tcp-pool', origins: [{ name: 'a', address: '127.0.0.1', port: 7000 }] })
    ).json<{ result: { id: string } }>();
    const lb = await (
      await call('/load_balancers', 'POST', { name: 'tcp.example.test', default_pools: [pool.result.id], fallback_pool: pool.result.id })
    ).json<{
      result: { id: string };
    }>();
    const app = { name: 'db', listen_port: 15432, load_balancer: lb.result.id, tls: 'terminate', certificate: cert.result.id };
    const unknown = await call('/tcp_apps', 'POST', { ...app, certificate: 'f'.repeat(32) });
    expect([unknown.status, (await unknown.json<Errors>()).errors[0]!.message]).toEqual([
      400,
      `certificate: unknown certificate "${'f'.repeat(32)}": upload it first (POST /admin/v1/certificates)`,
    ]);
    const created = await call('/tcp_apps', 'POST', app);
    expect(created.status).toBe(201);
    const appId = (await created.json<{ result: { id: string } }>()).result.id;
    expect((await call(`/certificates/${cert.result.id}`, 'DELETE')).status).toBe(409);
    expect((await call(`/load_balancers/${lb.result.id}`, 'DELETE')).status).toBe(409);
    const clash = await call('/tcp_apps', 'POST', { ...app, name: 'db2' });
    expect(clash.status).toBe(409);
    expect((await clash.json<Errors>()).errors[0]!.message).toContain(`listen_port: port 15432 is already used by TCP app ${appId}`);

    const config = await call('/config');
    const etag = config.headers.get('etag')!;
    expect((await config.json<{ result: { tcp_apps: { id: string }[] } }>()).result.tcp_apps.map((a) => a.id)).toContain(appId);
    const same = await call('/config', 'GET', undefined, 'test-read-token', { 'if-none-match': etag });
    expect([same.status, await same.text(), same.headers.get('etag')]).toEqual([304, '', etag]);
    expect((await call('/config', 'GET', undefined, 'test-read-token', { 'if-none-match': '"config-0"' })).status).toBe(200);

    expect((await call(`/tcp_apps/${appId}`, 'DELETE')).status).toBe(200);
    expect((await call(`/certificates/${cert.result.id}`, 'DELETE')).status).toBe(200);
    expect((await call(`/certificates/${cert.result.id}`)).status).toBe(404);
  });
});
