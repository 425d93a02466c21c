/** TCP apps as config: field validation naming the field, the load balancer reference, listen port clashes. */
import { describe, expect, it } from 'vitest';
import { EMPTY_DOCUMENT, createResource, importDocument, isCidr } from './index.ts';

const ctx = { newId: () => 'new', now: () => '2026-01-01T00:00:00.000Z' };
const base = {
  pools: [{ id: 'p', name: 'p', origins: [{ name: 'o', address: '127.0.0.1', port: 5432 }] }],
  load_balancers: [{ id: 'lb', name: 'db.example.com', default_pools: ['p'], fallback_pool: 'p' }],
};

describe('tcp_apps', () => {
  it('validates CIDRs (IPv4 four-part, IPv6), tls with its certificate, naming each field', () => {
    expect(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7', '::1'].every(isCidr)).toBe(true);
    expect(['10.1/8', '10.0.0.0/33', '2001:db8::/129', 'example.com', '', 'fe80::1%eth0', 'fe80::1%eth0/64', '10.0.0.1..10.0.0.9'].some(isCidr)).toBe(false);
    const out = importDocument(
      EMPTY_DOCUMENT,
      { ...base, tcp_apps: [{ name: 'db', listen_port: 5432, load_balancer: 'lb', tls: 'terminate', ip_firewall: { allow: ['10.1/8'] } }] },
      ctx,
    );
    expect(out.ok ? [] : out.errors.map((e) => e.path)).toEqual(['tcp_apps[0].ip_firewall.allow[0]', 'tcp_apps[0].certificate']);
  });

  it('refuses in ip_firewall what ACLs refuse in ip_subnet: an IPv6 zone id, a range (one validator, core/rules/ip.ts subnetError)', () => {
    const app = (deny: string[]) => ({ ...base, tcp_apps: [{ name: 'db', listen_port: 5432, load_balancer: 'lb', ip_firewall: { deny } }] });
    const out = importDocument(EMPTY_DOCUMENT, app(['fe80::1', 'fe80::1%eth0', '2001:db8::/32', '10.0.0.1..10.0.0.9']), ctx);
    expect(out.ok ? [] : out.errors.map((e) => e.path)).toEqual(['tcp_apps[0].ip_firewall.deny[1]', 'tcp_apps[0].ip_firewall.deny[3]']);
    expect(importDocument(EMPTY_DOCUMENT, app(['fe80::1', ' 10.0.0.0/8 ']), ctx).ok).toBe(true);
  });

  it('refers to a load balancer (400 unknown), which cannot be deleted while named; two apps cannot share a port (409)', () => {
    const unknown = importDocument(EMPTY_DOCUMENT, { ...base, tcp_apps: [{ name: 'db', listen_port: 5432, load_balancer: 'nope' }] }, ctx);
    expect(unknown).toMatchObject({
      ok: false,
      status: 400,
      errors: [{ path: 'tcp_apps[0].load_balancer', message: expect.stringContaining('unknown load balancer "nope"') }],
    });
    const doc = importDocument(EMPTY_DOCUMENT, { ...base, tcp_apps: [{ id: 'a', name: 'db', listen_port: 5432, load_balancer: 'lb' }] }, ctx);
    if (!doc.ok) throw new Error(JSON.stringify(doc.errors));
    expect(createResource(doc.value, 'tcp_apps', { name: 'db2', listen_port: 5432, load_balancer: 'lb' }, ctx)).toMatchObject({ ok: false, status: 409 });
  });
});
