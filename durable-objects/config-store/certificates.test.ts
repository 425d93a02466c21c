/**
 * The certificate store inside a real ConfigStore (SQLite in workerd): keys at rest are AES-GCM
 * ciphertext bound to their row, nothing is stored without CERT_KEY_SECRET, and a changed secret
 * is a 409 asking for a re-upload rather than garbage.
 */
import { runInDurableObject, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { emptyDocument } from '../../core/config/index.ts';
import type { CheckedCertificate } from '../../core/rpc/index.ts';
import { CertificateStore } from './certificates.ts';
import type { ConfigStore } from './index.ts';

const KEY = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+not+a+real+key+but+a+marker+0123456789ab\n-----END PRIVATE KEY-----\n';
const cert: CheckedCertificate = {
  meta: {
    name: 'c',
    names: ['a.example.test'],
    issuer: 'CN=CA',
    not_before: '2026-01-01T00:00:00.000Z',
    not_after: '2026-03-01T00:00:00.000Z',
    fingerprint_sha256: 'ab'.repeat(32),
    chain_length: 1,
    key_algorithm: 'Ed25519',
  },
  chainPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  keyPem: KEY,
};
const NOW = Date.parse('2026-02-01T12:00:00Z');
const stub = (name: string) => env.CONFIG_STORE.getByName(name);

describe('CertificateStore', () => {
  it('keeps the key encrypted, bound to its row; decrypts it for material; expiry counts from now', async () => {
    await runInDurableObject(stub('certs-at-rest'), async (_: ConfigStore, state) => {
      const sql = state.storage.sql;
      const store = new CertificateStore(
        sql,
        () => 'secret-one',
        () => NOW,
      );
      const put = await store.put(cert, 'c1');
      expect(put).toMatchObject({ ok: true, value: { id: 'c1', expires_in_days: 27 } });
      const row = sql.exec<{ key_ct: string; meta: string }>('SELECT key_ct, meta FROM certificates WHERE id = ?', 'c1').one();
      expect(atob(row.key_ct)).not.toContain('PRIVATE KEY');
      expect(row.meta).not.toContain('PRIVATE KEY');
      expect(await store.material('c1')).toMatchObject({ ok: true, value: { private_key: KEY, certificate: cert.chainPem } });

      // The same ciphertext under another id does not decrypt (the id is the additional data).
      sql.exec("INSERT INTO certificates (id, meta, chain, key_iv, key_ct) SELECT 'c2', meta, chain, key_iv, key_ct FROM certificates WHERE id = 'c1'");
      expect(await store.material('c2')).toMatchObject({ ok: false, status: 409 });

      // Another secret: 409 asking for a re-upload; no secret: nothing stored.
      expect(
        await new CertificateStore(
          sql,
          () => 'secret-two',
          () => NOW,
        ).material('c1'),
      ).toMatchObject({ ok: false, status: 409 });
      const none = await new CertificateStore(sql, () => undefined).put(cert, 'c3');
      expect(none).toMatchObject({ ok: false, status: 400 });
      expect(JSON.stringify(none)).toContain('CERT_KEY_SECRET');
    });
  });

  it('replaces under the same id keeping created_on; deletes unless a TCP app names it', async () => {
    await runInDurableObject(stub('certs-replace'), async (_: ConfigStore, state) => {
      let now = NOW;
      const store = new CertificateStore(
        state.storage.sql,
        () => 's',
        () => now,
      );
      await store.put(cert, 'c1');
      now += 60_000;
      const replaced = await store.put({ ...cert, meta: { ...cert.meta, name: 'renewed' } }, 'ignored', 'c1');
      expect(replaced).toMatchObject({
        ok: true,
        value: { id: 'c1', name: 'renewed', created_on: new Date(NOW).toISOString(), modified_on: new Date(now).toISOString() },
      });
      expect(await store.put(cert, 'x', 'missing')).toMatchObject({ ok: false, status: 404 });
      const doc = emptyDocument();
      doc.tcp_apps.push({ id: 'app', name: 'db', additional_certificates: ['c1'] } as (typeof doc.tcp_apps)[number]);
      expect(store.remove('c1', doc)).toMatchObject({ ok: false, status: 409 });
      expect(store.remove('c1', emptyDocument())).toEqual({ ok: true, value: { id: 'c1' } });
      expect(store.list()).toEqual([]);
    });
  });
});
