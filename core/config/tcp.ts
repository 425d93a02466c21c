/**
 * TCP applications (`tcp_apps`) and certificates: what the self-hosted TCP proxy (tcp-proxy/)
 * serves. Field names follow Cloudflare Spectrum's applications (`proxy_protocol` off|v1|v2,
 * `tls` off|terminate, `ip_firewall`) and HAProxy's `mode tcp` (`maxconn`, `timeout connect`,
 * `timeout client`); times are in seconds, as elsewhere in the config.
 *
 * A TCP app refers to a load balancer: its pools, origins, origin steering, failover and health
 * rules are the HTTP load balancer's (core/route, core/steer, core/health), applied per connection.
 */
import { z } from 'zod';
import { subnetError } from '../rules/ip.ts';
import { IdSchema, readOnly, resourceName } from './schema.ts';

const id = IdSchema;

/** Limits of a TCP app's lists. */
export const TCP_LIMITS = { firewallRules: 1000, additionalCertificates: 16 } as const;

/**
 * A CIDR block (`10.0.0.0/8`, `2001:db8::/32`) or one address (`/32` or `/128` implied): what
 * ACLs' `ip_subnet` takes too (core/rules/ip.ts `subnetError`). IPv4 must be four-part decimal
 * (no `10.1` or octal forms); IPv6 has no zone id (`fe80::1%eth0`).
 */
export function isCidr(s: string): boolean {
  return subnetError(s) === undefined;
}

const cidr = z.string().trim().refine(isCidr, 'must be an IPv4 or IPv6 address or CIDR block, such as 192.0.2.0/24 or 2001:db8::/32');
const cidrList = z.array(cidr).max(TCP_LIMITS.firewallRules);

export const TcpAppSchema = z
  .strictObject({
    ...readOnly,
    name: resourceName,
    description: z.string().max(1024).default(''),
    enabled: z.boolean().default(true),
    protocol: z.literal('tcp').default('tcp').describe("Spectrum's protocol; only tcp"),
    listen_port: z.int().min(1).max(65535).describe('the port the proxy listens on'),
    load_balancer: id.describe('the load balancer whose pools, origins, origin steering and health rules this app uses'),
    origin_port: z.int().min(1).max(65535).optional().describe("connect to this port on every origin; absent: the origin's own port"),
    proxy_protocol: z.enum(['off', 'v1', 'v2']).default('off').describe("Spectrum's: send a PROXY protocol header with the client's address to origins"),
    accept_proxy: z
      .boolean()
      .default(false)
      .describe('expect a PROXY protocol header (v1 or v2) from a front load balancer on every connection; a malformed one closes that connection'),
    tls: z.enum(['off', 'terminate']).default('off').describe("Spectrum's: terminate: decrypt TLS from clients and send plain TCP to origins"),
    certificate: id.optional().describe('the certificate served (required with tls terminate), and the default when SNI names none of additional_certificates'),
    additional_certificates: z
      .array(id)
      .max(TCP_LIMITS.additionalCertificates)
      .default([])
      .describe('more certificates, served when the client SNI is one of their names'),
    max_connections: z.int().min(1).max(1_000_000).default(10_000).describe("HAProxy's maxconn: connections open at once on this app, per proxy instance"),
    max_connections_per_origin: z.int().min(1).max(1_000_000).optional().describe("HAProxy's server maxconn, per proxy instance; absent: no limit"),
    on_limit: z
      .enum(['refuse', 'queue'])
      .default('refuse')
      .describe('past a limit: close the new connection at once, or hold it until a slot frees or queue_timeout passes'),
    queue_timeout: z.number().min(0.1).max(300).default(5).describe('seconds a queued connection waits (on_limit queue); at most max_connections wait'),
    connect_timeout: z.number().min(0.1).max(120).default(5).describe("seconds (HAProxy's timeout connect): past it, the next origin is tried"),
    idle_timeout: z.int().min(1).max(86_400).default(300).describe('seconds without a byte either way before both sides are closed'),
    ip_firewall: z
      .strictObject({
        allow: cidrList.default([]).describe('[] = every address; otherwise only these'),
        deny: cidrList.default([]).describe('refused even when allowed'),
      })
      .default({ allow: [], deny: [] })
      .describe("Spectrum's ip_firewall: the client address (the PROXY header's with accept_proxy) is checked before anything is sent"),
  })
  .superRefine((app, ctx) => {
    if (app.tls === 'terminate' && !app.certificate) ctx.addIssue({ code: 'custom', path: ['certificate'], message: 'is required with tls terminate' });
    if (app.tls === 'off' && (app.certificate || app.additional_certificates.length)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'must be terminate when a certificate is given' });
    }
  })
  .meta({ id: 'TcpAppInput' });

export type TcpApp = z.output<typeof TcpAppSchema> & { id: string; created_on: string; modified_on: string };

/** A certificate upload: a PEM chain (leaf first) and its PKCS #8 private key. */
export const CertificateInputSchema = z
  .strictObject({
    name: resourceName,
    certificate: z.string().max(65_536).describe('PEM: the leaf certificate first, then its intermediates in order'),
    private_key: z.string().max(16_384).describe('PEM PKCS #8 ("BEGIN PRIVATE KEY"): RSA, ECDSA P-256/P-384 or Ed25519; never returned'),
  })
  .meta({ id: 'CertificateInput' });
export type CertificateInput = z.output<typeof CertificateInputSchema>;

/** What reads answer about a certificate: never its key. Times ISO 8601. */
export const CertificateMetaSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    names: z.array(z.string()).describe('the DNS names the leaf covers (subjectAltName; the common name when it has none)'),
    issuer: z.string(),
    not_before: z.string(),
    not_after: z.string(),
    expires_in_days: z.int().describe('whole days until not_after at the time of the read (negative: expired)'),
    fingerprint_sha256: z.string().describe("the leaf's SHA-256 fingerprint, hex"),
    chain_length: z.int(),
    key_algorithm: z.string(),
    created_on: z.string(),
    modified_on: z.string(),
  })
  .meta({ id: 'Certificate' });
export type CertificateMeta = z.output<typeof CertificateMetaSchema>;
