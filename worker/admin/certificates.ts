/**
 * TLS certificates of TCP apps (`/certificates`): upload a PEM chain and its key, list and read
 * metadata (names, validity, `expires_in_days`, fingerprint; never the key), replace (rotation
 * keeps the id apps refer to), delete (409 while an app names it), and the key endpoint the TCP
 * proxy fetches. Uploads are validated here (certificate-check.ts: 400 naming the reason); the
 * ConfigStore keeps the key encrypted (durable-objects/config-store/certificates.ts).
 *
 * Who may fetch a private key (`GET /certificates/{id}/key`): the admin token, and the read-only
 * tokens also listed in the secret `CERT_KEY_TOKENS` — not every read-only token. A read-only
 * token is handed out for looking: dashboards, CI checks, monitoring, the DNS and TCP pollers.
 * Leaking one exposes the configuration, which is already visible to anyone who can see traffic
 * patterns; leaking a private key lets its holder impersonate the service to every client, a
 * different class of secret (as a certificate store's "read" never includes the key in
 * Kubernetes' RBAC split of `get secrets`, or in Vault's policies). So keys are a scope of their
 * own, granted to the proxies' tokens alone, and a read-only token outside it gets 403.
 */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { CertificateInputSchema, CertificateMetaSchema, ErrorCode, IdSchema } from '../../core/config/index.ts';
import { configStore } from '../rpc.ts';
import { tokenListed } from './auth.ts';
import { BODY_LIMIT, jsonBody } from './body.ts';
import { checkCertificate } from './certificate-check.ts';
import { Envelope, failure, failures, json, ok, refuse, type AdminContext, type AdminEnv } from './envelope.ts';

const params = z.object({ id: IdSchema.describe('certificate id') });
const One = Envelope(CertificateMetaSchema);
const Material = z
  .object({
    id: z.string(),
    fingerprint_sha256: z.string(),
    certificate: z.string().describe('PEM chain, leaf first'),
    private_key: z.string().describe('PEM PKCS #8'),
  })
  .meta({ id: 'CertificateMaterial' });
const body = { required: true, content: { 'application/json': { schema: CertificateInputSchema } } } as const;

const list = createRoute({
  method: 'get',
  path: '/certificates',
  summary: 'List certificates (metadata only: names, validity, expires_in_days, fingerprint)',
  responses: { 200: json(Envelope(z.array(CertificateMetaSchema)), 'Every certificate'), ...failures(401) },
});
const upload = createRoute({
  method: 'post',
  path: '/certificates',
  summary: 'Upload a certificate: PEM chain (leaf first) and PKCS #8 key, validated (400 naming the reason); the key is stored encrypted',
  middleware: jsonBody(BODY_LIMIT),
  request: { body },
  responses: { 201: json(One, 'The certificate as stored (no key)'), ...failures(400, 401, 403, 409, 413, 415) },
});
const read = createRoute({
  method: 'get',
  path: '/certificates/{id}',
  summary: 'Read a certificate (metadata only)',
  request: { params },
  responses: { 200: json(One, 'The certificate (no key)'), ...failures(400, 401, 404) },
});
const replace = createRoute({
  method: 'put',
  path: '/certificates/{id}',
  summary: 'Replace a certificate and key (rotation: the id TCP apps name stays), validated like an upload',
  middleware: jsonBody(BODY_LIMIT),
  request: { params, body },
  responses: { 200: json(One, 'The certificate as stored (no key)'), ...failures(400, 401, 403, 404, 413, 415) },
});
const remove = createRoute({
  method: 'delete',
  path: '/certificates/{id}',
  summary: 'Delete a certificate (409 while a TCP app names it)',
  request: { params },
  responses: { 200: json(Envelope(z.object({ id: z.string() })), 'Deleted'), ...failures(400, 401, 403, 404, 409) },
});
const key = createRoute({
  method: 'get',
  path: '/certificates/{id}/key',
  summary: 'The chain and private key, for the TCP proxy: the admin token or a read-only token listed in CERT_KEY_TOKENS (403 for others)',
  request: { params },
  responses: { 200: json(Envelope(Material), 'Chain and key (PEM)'), ...failures(400, 401, 403, 404, 409) },
});

/** Whether this request may read private keys: the admin role, or a bearer token listed in CERT_KEY_TOKENS (constant-time compare). */
async function mayReadKeys(c: AdminContext): Promise<boolean> {
  return c.get('role') === 'admin' || tokenListed(c.env.CERT_KEY_TOKENS, c.get('token'));
}

/** Validates the body; a refusal in the envelope, or what the store takes. */
async function checked(c: AdminContext, input: z.output<typeof CertificateInputSchema>) {
  const result = await checkCertificate(input, new Date());
  return result.ok ? result : { ok: false as const, response: failure(c, 400, result.errors) };
}

export function certificateRoutes() {
  return new OpenAPIHono<AdminEnv>()
    .openapi(list, async (c) => c.json(ok(await configStore(c.env).listCertificates()), 200))
    .openapi(upload, async (c) => {
      const cert = await checked(c, c.req.valid('json'));
      if (!cert.ok) return cert.response;
      const stored = await configStore(c.env).putCertificate(cert.value);
      if (!stored.ok) return refuse(c, stored, [400, 409] as const);
      return c.json(ok(stored.value), 201);
    })
    .openapi(read, async (c) => {
      const got = await configStore(c.env).getCertificate(c.req.valid('param').id);
      if (!got.ok) return refuse(c, got, [404] as const);
      return c.json(ok(got.value), 200);
    })
    .openapi(replace, async (c) => {
      const cert = await checked(c, c.req.valid('json'));
      if (!cert.ok) return cert.response;
      const stored = await configStore(c.env).putCertificate(cert.value, c.req.valid('param').id);
      if (!stored.ok) return refuse(c, stored, [400, 404] as const);
      return c.json(ok(stored.value), 200);
    })
    .openapi(remove, async (c) => {
      const gone = await configStore(c.env).removeCertificate(c.req.valid('param').id);
      if (!gone.ok) return refuse(c, gone, [404, 409] as const);
      return c.json(ok(gone.value), 200);
    })
    .openapi(key, async (c) => {
      if (!(await mayReadKeys(c))) {
        return failure(c, 403, [
          { code: ErrorCode.forbidden, message: 'this token may not read private keys: only the admin token and tokens in CERT_KEY_TOKENS may' },
        ]);
      }
      const material = await configStore(c.env).certificateMaterial(c.req.valid('param').id);
      if (!material.ok) return refuse(c, material, [404, 409] as const);
      c.header('cache-control', 'no-store');
      return c.json(ok(material.value), 200);
    });
}
