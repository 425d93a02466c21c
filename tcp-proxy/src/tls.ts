/**
 * TLS termination (tls: terminate): the app's certificates as TLS contexts, made once per config
 * version, and the server side of the handshake, choosing the certificate by SNI.
 */
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import type { TcpApp } from '../../core/config/index.ts';
import type { CertificateMaterial } from '../../core/rpc/index.ts';

/** A PROXY header and a TLS handshake must each complete within this long (ms). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export type Tls = { fallback: SecureContext; byName: { x509: X509Certificate; context: SecureContext }[] };

/** The app's certificates as TLS contexts: `certificate` is the fallback, the others are matched by SNI. */
export function tlsOf(app: TcpApp, certificates: ReadonlyMap<string, CertificateMaterial>): Tls | undefined {
  if (app.tls !== 'terminate') return undefined;
  const context = (m: CertificateMaterial) => createSecureContext({ cert: m.certificate, key: m.private_key });
  const main = certificates.get(app.certificate!);
  if (!main) return undefined;
  const byName = [app.certificate!, ...app.additional_certificates].flatMap((id) => {
    const m = certificates.get(id);
    return m ? [{ x509: new X509Certificate(m.certificate), context: context(m) }] : [];
  });
  return { fallback: byName[0]!.context, byName };
}

/** The server side of a TLS handshake on `raw` (the certificate chosen by SNI); rejects on failure or after HANDSHAKE_TIMEOUT_MS. */
export function handshake(raw: Socket, tls: Tls): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = new TLSSocket(raw, {
      isServer: true,
      secureContext: tls.fallback,
      SNICallback: (name, cb) => cb(null, tls.byName.find((c) => c.x509.checkHost(name))?.context ?? tls.fallback),
    });
    const timer = setTimeout(() => (socket.destroy(), reject(new Error('TLS handshake timed out'))), HANDSHAKE_TIMEOUT_MS);
    const failed = (e: Error) => (clearTimeout(timer), reject(e));
    socket.once('error', failed);
    // Until the splice listens (after the origin connects), an error must not go unheard: that would end the process.
    socket.once('secure', () => (clearTimeout(timer), socket.off('error', failed).on('error', () => undefined), resolve(socket)));
  });
}
