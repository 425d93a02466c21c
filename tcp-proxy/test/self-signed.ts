/** Self-signed certificates from the openssl CLI for the TLS tests (a real X.509 chain, not a fixture file). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SelfSigned {
  /** Paths of the PEM files written to the directory. */
  certFile: string;
  keyFile: string;
  /** Their contents: the certificate, and its private key (PKCS #8, "BEGIN PRIVATE KEY"). */
  certificate: string;
  privateKey: string;
}

/**
 * Writes `<dir>/<name>.pem` and `<dir>/<name>.key`: an ECDSA P-256 certificate for `name` (CN and
 * subjectAltName DNS:name), valid 30 days. Throws when openssl fails (or is not installed).
 */
export function selfSigned(dir: string, name: string): SelfSigned {
  const [keyFile, certFile] = [join(dir, `${name}.key`), join(dir, `${name}.pem`)];
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30'];
  execFileSync('openssl', [...args, '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`], { stdio: 'ignore' });
  return { certFile, keyFile, certificate: readFileSync(certFile, 'utf8'), privateKey: readFileSync(keyFile, 'utf8') };
}
