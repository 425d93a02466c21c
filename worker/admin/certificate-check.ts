/**
 * Validation of a certificate upload (`POST /certificates`), in the Worker: the PEM chain is parsed
 * by @peculiar/x509 (pure JS over WebCrypto; the Worker has no node:crypto), the key by WebCrypto.
 *
 * Checks, each refusal naming its field and reason: the chain parses (leaf first); every
 * certificate is within its validity period at `now`; each certificate is issued by the next one
 * (issuer name equals the next subject and its signature verifies with the next public key); the
 * leaf names at least one DNS name (subjectAltName dNSName, else the subject CN); the key is an
 * unencrypted PKCS #8 PEM of the leaf's algorithm (RSA, ECDSA P-256/P-384/P-521, Ed25519) and
 * matches the leaf: a challenge it signs verifies with the leaf's public key.
 */
import 'reflect-metadata'; // @peculiar/x509 (tsyringe) needs the Reflect metadata API, before its import
import { SubjectAlternativeNameExtension, X509Certificate } from '@peculiar/x509';
import { ErrorCode, type ApiError, type CertificateInput } from '../../core/config/index.ts';
import type { CheckedCertificate } from '../../core/rpc/index.ts';

const CERT_PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
/** At most this many certificates in a chain (a leaf and its intermediates). */
export const MAX_CHAIN = 8;

type Checked = { ok: true; value: CheckedCertificate } | { ok: false; errors: ApiError[] };
const refused = (field: 'certificate' | 'private_key', message: string): Checked => ({
  ok: false,
  errors: [{ code: ErrorCode.invalid, path: field, message: `${field}: ${message}` }],
});

type ImportParams = Parameters<SubtleCrypto['importKey']>[2];
type SignParams = Parameters<SubtleCrypto['sign']>[0];

/** The algorithm to import the key with and to verify with, from the leaf's public key; undefined: unsupported. */
function signing(leaf: X509Certificate): { params: ImportParams; sign: SignParams; label: string } | undefined {
  const alg = leaf.publicKey.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  if (alg.name === 'RSASSA-PKCS1-v1_5' || alg.name === 'RSA-PSS' || alg.name === 'RSA-OAEP') {
    return { params: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, sign: { name: 'RSASSA-PKCS1-v1_5' }, label: `RSA ${alg.modulusLength ?? ''}`.trim() };
  }
  if (alg.name === 'ECDSA' && alg.namedCurve) {
    return { params: { name: 'ECDSA', namedCurve: alg.namedCurve }, sign: { name: 'ECDSA', hash: 'SHA-256' }, label: `ECDSA ${alg.namedCurve}` };
  }
  if (alg.name === 'Ed25519') return { params: { name: 'Ed25519' }, sign: { name: 'Ed25519' }, label: 'Ed25519' };
  return undefined;
}

/** The DNS names the leaf covers: subjectAltName dNSName entries, else its subject common name. */
function namesOf(leaf: X509Certificate): string[] {
  const san = leaf.getExtension(SubjectAlternativeNameExtension);
  const dns = (san?.names.items ?? []).filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase());
  if (dns.length) return [...new Set(dns)];
  const cn = leaf.subjectName.getField('CN')[0];
  return cn ? [cn.toLowerCase()] : [];
}

const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
const pemBody = (pem: string) => Uint8Array.from(atob(pem.replace(/-----[^-]+-----|\s/g, '')), (c) => c.charCodeAt(0));

/** Validates an upload at `now`; the value is what the ConfigStore stores. Never throws. */
export async function checkCertificate(input: CertificateInput, now: Date): Promise<Checked> {
  const blocks = input.certificate.match(CERT_PEM) ?? [];
  if (!blocks.length) return refused('certificate', 'no PEM certificate (-----BEGIN CERTIFICATE-----) found');
  if (blocks.length > MAX_CHAIN) return refused('certificate', `at most ${MAX_CHAIN} certificates in a chain`);
  const chain: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      chain.push(new X509Certificate(block));
    } catch (e) {
      return refused('certificate', `certificate ${i + 1} of the chain does not parse (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  for (const [i, c] of chain.entries()) {
    const which = i === 0 ? `the leaf (${c.subject})` : `certificate ${i + 1} of the chain (${c.subject})`;
    if (now < c.notBefore) return refused('certificate', `${which} is not valid before ${c.notBefore.toISOString()}`);
    if (now > c.notAfter) return refused('certificate', `${which} expired on ${c.notAfter.toISOString()}`);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    const [c, next] = [chain[i]!, chain[i + 1]!];
    const issued = c.issuer === next.subject && (await c.verify({ publicKey: next.publicKey, signatureOnly: true }).catch(() => false));
    if (!issued) {
      return refused(
        'certificate',
        `chain out of order: certificate ${i + 1} (${c.subject}) is not issued by certificate ${i + 2} (${next.subject}); send the leaf first, then each issuer`,
      );
    }
  }
  const leaf = chain[0]!;
  const names = namesOf(leaf);
  if (!names.length) return refused('certificate', 'the leaf names no DNS name (no subjectAltName dNSName and no common name)');

  const key = input.private_key.trim();
  if (/BEGIN ENCRYPTED PRIVATE KEY/.test(key)) return refused('private_key', 'is encrypted: upload it unencrypted (it is stored encrypted)');
  if (/BEGIN (RSA|EC) PRIVATE KEY/.test(key))
    return refused('private_key', 'must be PKCS #8 (BEGIN PRIVATE KEY): convert it with `openssl pkcs8 -topk8 -nocrypt`');
  if (!/^-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----$/.test(key))
    return refused('private_key', 'must be one PEM PKCS #8 key (-----BEGIN PRIVATE KEY-----)');
  const alg = signing(leaf);
  if (!alg) return refused('certificate', `the leaf's key algorithm (${leaf.publicKey.algorithm.name}) is not supported: use RSA, ECDSA or Ed25519`);
  let matches: boolean;
  try {
    const privateKey = await crypto.subtle.importKey('pkcs8', pemBody(key), alg.params, false, ['sign']);
    const challenge = crypto.getRandomValues(new Uint8Array(32));
    const signature = await crypto.subtle.sign(alg.sign, privateKey, challenge);
    const publicKey = (await leaf.publicKey.export(alg.params as never, ['verify'])) as unknown as CryptoKey;
    matches = await crypto.subtle.verify(alg.sign, publicKey, signature, challenge);
  } catch (e) {
    return refused('private_key', `is not a PKCS #8 ${alg.label} key matching the leaf (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!matches) return refused('private_key', "does not match the leaf certificate's public key");

  return {
    ok: true,
    value: {
      meta: {
        name: input.name,
        names,
        issuer: leaf.issuer,
        not_before: leaf.notBefore.toISOString(),
        not_after: leaf.notAfter.toISOString(),
        fingerprint_sha256: hex(await leaf.getThumbprint('SHA-256')),
        chain_length: chain.length,
        key_algorithm: alg.label,
      },
      chainPem: chain.map((c) => c.toString('pem')).join('\n') + '\n',
      keyPem: key + '\n',
    },
  };
}
