/**
 * Certificates for the TCP proxy's TLS termination, kept by the ConfigStore beside the config but
 * outside the config document: the document is exported whole by `GET /config`, and a private
 * key must never be in any read.
 *
 * - The Worker validates an upload (worker/admin/certificates.ts) and hands over a
 *   `CheckedCertificate`; this module stores its metadata and chain in the clear and its private
 *   key encrypted with AES-256-GCM (a random 96-bit IV per write, the certificate id as
 *   additional data, so a ciphertext moved to another row does not decrypt).
 * - The AES key is derived with HKDF-SHA256 from the Worker secret `CERT_KEY_SECRET`
 *   (`wrangler secret put CERT_KEY_SECRET`); without it nothing can be stored (400). Rotating the
 *   secret makes stored keys unreadable: `material` then answers 409 asking for a re-upload.
 * - A certificate a TCP app names (`certificate`, `additional_certificates`) cannot be deleted (409).
 */
import { ErrorCode, fail, type CertificateMeta, type ConfigDocument, type Outcome } from '../../core/config/index.ts';
import type { CertificateMaterial, CheckedCertificate } from '../../core/rpc/index.ts';

export type { CertificateMaterial, CheckedCertificate };

/** The table this module keeps (appended to the ConfigStore's migrations). */
export const CERTIFICATES_MIGRATION = `CREATE TABLE certificates (
  id TEXT PRIMARY KEY,
  meta TEXT NOT NULL,
  chain TEXT NOT NULL,
  key_iv TEXT NOT NULL,
  key_ct TEXT NOT NULL
);`;

/** Certificates kept at once: each row holds at most ~100 KB, so the table stays small. */
export const MAX_CERTIFICATES = 1000;

const DAY_MS = 86_400_000;
type Stored = Omit<CertificateMeta, 'expires_in_days'>;
type Row = { id: string; meta: string; chain: string; key_iv: string; key_ct: string };

const b64 = (bytes: ArrayBuffer | Uint8Array) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/** The AES-256-GCM key for certificate private keys, from `secret` (HKDF-SHA256, fixed salt and info). */
export async function keyEncryptionKey(secret: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new TextEncoder().encode('edge-lb certificates'), info: new TextEncoder().encode('private key, aes-256-gcm, v1') },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

export class CertificateStore {
  readonly #sql: SqlStorage;
  readonly #secret: () => string | undefined;
  readonly #now: () => number;

  /** `secret` reads CERT_KEY_SECRET (undefined or empty: none); `now` in epoch ms. */
  constructor(sql: SqlStorage, secret: () => string | undefined, now: () => number = Date.now) {
    this.#sql = sql;
    this.#secret = secret;
    this.#now = now;
  }

  #withExpiry(m: Stored): CertificateMeta {
    return { ...m, expires_in_days: Math.floor((Date.parse(m.not_after) - this.#now()) / DAY_MS) };
  }

  #row(id: string): Row | undefined {
    return this.#sql.exec<Row>('SELECT * FROM certificates WHERE id = ?', id).toArray()[0];
  }

  /** Whether a certificate is stored under `id` (a TCP app may name it). */
  has(id: string): boolean {
    return this.#sql.exec('SELECT 1 FROM certificates WHERE id = ?', id).toArray().length > 0;
  }

  /** Every certificate's metadata, by name; never a key. */
  list(): CertificateMeta[] {
    return this.#sql
      .exec<{ meta: string }>('SELECT meta FROM certificates')
      .toArray()
      .map((r) => this.#withExpiry(JSON.parse(r.meta) as Stored))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  get(id: string): Outcome<CertificateMeta> {
    const row = this.#row(id);
    return row ? { ok: true, value: this.#withExpiry(JSON.parse(row.meta) as Stored) } : notFound(id);
  }

  /**
   * Stores `cert` under `id` (replacing it: rotation keeps the id apps refer to) or under a new id.
   * 400 without CERT_KEY_SECRET, 404 for an unknown `replaceId`, 409 past MAX_CERTIFICATES.
   */
  async put(cert: CheckedCertificate, newId: string, replaceId?: string): Promise<Outcome<CertificateMeta>> {
    const secret = this.#secret();
    if (!secret) {
      return fail(400, [{ code: ErrorCode.invalid, message: 'private_key: cannot be stored: no CERT_KEY_SECRET secret is configured to encrypt it' }]);
    }
    const before = replaceId === undefined ? undefined : this.#row(replaceId);
    if (replaceId !== undefined && !before) return notFound(replaceId);
    if (!before && this.#sql.exec<{ n: number }>('SELECT count(*) AS n FROM certificates').one().n >= MAX_CERTIFICATES) {
      return fail(409, [{ code: ErrorCode.conflict, message: `at most ${MAX_CERTIFICATES} certificates: delete one first` }]);
    }
    const id = replaceId ?? newId;
    const now = new Date(this.#now()).toISOString();
    const created = before ? (JSON.parse(before.meta) as Stored).created_on : now;
    const stored: Stored = { id, ...cert.meta, created_on: created, modified_on: now };
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(id) },
      await keyEncryptionKey(secret),
      new TextEncoder().encode(cert.keyPem),
    );
    this.#sql.exec(
      'INSERT OR REPLACE INTO certificates (id, meta, chain, key_iv, key_ct) VALUES (?, ?, ?, ?, ?)',
      id,
      JSON.stringify(stored),
      cert.chainPem,
      b64(iv),
      b64(ct),
    );
    return { ok: true, value: this.#withExpiry(stored) };
  }

  /** Deletes a certificate; 409 while a TCP app of `doc` names it. */
  remove(id: string, doc: ConfigDocument): Outcome<{ id: string }> {
    if (!this.#row(id)) return notFound(id);
    const users = doc.tcp_apps.filter((a) => a.certificate === id || a.additional_certificates.includes(id));
    if (users.length)
      return fail(
        409,
        users.map((a) => ({ code: ErrorCode.conflict, message: `certificate ${id} is still used by TCP app ${a.id} (${a.name})` })),
      );
    this.#sql.exec('DELETE FROM certificates WHERE id = ?', id);
    return { ok: true, value: { id } };
  }

  /** The chain and the decrypted key; 409 when the key cannot be decrypted (CERT_KEY_SECRET changed or unset). */
  async material(id: string): Promise<Outcome<CertificateMaterial>> {
    const row = this.#row(id);
    if (!row) return notFound(id);
    const meta = JSON.parse(row.meta) as Stored;
    const secret = this.#secret();
    try {
      if (!secret) throw new Error('no secret');
      const plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: unb64(row.key_iv), additionalData: new TextEncoder().encode(id) },
        await keyEncryptionKey(secret),
        unb64(row.key_ct),
      );
      return { ok: true, value: { id, fingerprint_sha256: meta.fingerprint_sha256, certificate: row.chain, private_key: new TextDecoder().decode(plain) } };
    } catch {
      return fail(409, [
        { code: ErrorCode.conflict, message: `certificate ${id}: its private key cannot be decrypted with the current CERT_KEY_SECRET; upload it again` },
      ]);
    }
  }
}

function notFound(id: string): Outcome<never> {
  return fail(404, [{ code: ErrorCode.notFound, message: `certificate ${id} not found` }]);
}
