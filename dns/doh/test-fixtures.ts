/** Shared by the dns/doh tests: a config snapshot of DNS-only load balancers, queries made by the codec, and a context. */
import * as dnsPacket from '@dnsquery/dns-packet';
import { emptyDocument, importDocument } from '../../core/config/index.ts';
import { compileSnapshot, type Usable } from '../../core/route/index.ts';
import type { PlaceFacts } from '../../core/steer/pools.ts';
import type { DohContext } from './index.ts';

const ctx = { newId: () => 'x', now: () => '2026-01-01T00:00:00.000Z' };
const o = (name: string, address: string, extra: object = {}) => ({ name, address, ...extra });

export const CONFIG = {
  pools: [
    { id: 'us', name: 'us', latitude: 39, longitude: -77.5, origins: [o('u1', '192.0.2.1'), o('u2', '192.0.2.2')] },
    { id: 'eu', name: 'eu', latitude: 50.1, longitude: 8.7, origins: [o('e4', '198.51.100.1'), o('e6', '2001:db8::1')] },
    { id: 'host', name: 'host', origins: [o('h', 'Origin.Example.NET')] },
    {
      id: 'hash',
      name: 'hash',
      origin_steering: { policy: 'hash', hash_key: { type: 'ip' } },
      origins: [1, 2, 3, 4, 5, 6, 7, 8].map((i) => o(`x${i}`, `203.0.113.${i}`)),
    },
    { id: 'fb', name: 'fb', origins: [o('f', '192.0.2.100')] },
  ],
  load_balancers: [
    { id: 'geo', name: 'dns.example.com', proxied: false, ttl: 60, default_pools: ['us'], fallback_pool: 'fb', country_pools: { DE: ['eu'] } },
    { id: 'wild', name: '*.wild.example.com', proxied: false, default_pools: ['host'], fallback_pool: 'fb' },
    { id: 'proxied', name: 'proxied.example.com', default_pools: ['us'], fallback_pool: 'fb' },
    { id: 'off', name: 'off.example.com', enabled: false, proxied: false, default_pools: ['us'], fallback_pool: 'fb' },
    {
      id: 'hash-always',
      name: 'always.example.com',
      proxied: false,
      default_pools: ['hash'],
      fallback_pool: 'fb',
      location_strategy: { prefer_ecs: 'always' },
    },
    { id: 'hash-never', name: 'never.example.com', proxied: false, default_pools: ['hash'], fallback_pool: 'fb', location_strategy: { prefer_ecs: 'never' } },
    { id: 'near', name: 'near.example.com', proxied: false, steering_policy: 'proximity', default_pools: ['us', 'eu'], fallback_pool: 'fb' },
  ],
};

export function snapshot(config: object = CONFIG) {
  const out = importDocument(emptyDocument(), config, ctx);
  if (!out.ok) throw new Error(JSON.stringify(out.errors));
  return compileSnapshot(out.value, 1);
}

let DEFAULT: ReturnType<typeof snapshot> | undefined;

/** A context with every origin usable unless `usable` says otherwise; `random` cycles through `draws`. */
export function context(over: Partial<DohContext> & { usable?: Usable; draws?: number[] } = {}): DohContext {
  const draws = over.draws ?? [0];
  let i = 0;
  return {
    snapshot: over.snapshot ?? (DEFAULT ??= snapshot()),
    health: over.health ?? (() => ({ usable: over.usable ?? (() => true) })),
    random: over.random ?? (() => draws[i++ % draws.length]!),
    place: over.place ?? ({ colo: 'FRA', country: 'US' } satisfies PlaceFacts),
    clientIp: 'clientIp' in over ? over.clientIp : '192.0.2.53',
    geolocate: over.geolocate,
  };
}

/** A query encoded by the codec (the client side is not ours). `ecs`: "address/prefix". */
export function query(name: string, type: dnsPacket.RecordType = 'A', opts: { id?: number; ecs?: string; edns?: boolean } = {}): Uint8Array {
  const additionals: dnsPacket.Answer[] = [];
  if (opts.edns || opts.ecs) {
    const options = [];
    if (opts.ecs) {
      const [ip, prefix] = opts.ecs.split('/');
      options.push({ code: 'CLIENT_SUBNET', ip, sourcePrefixLength: Number(prefix) });
    }
    additionals.push({ type: 'OPT', name: '.', udpPayloadSize: 4096, options } as unknown as dnsPacket.Answer);
  }
  return dnsPacket.encode({ type: 'query', id: opts.id ?? 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }], additionals });
}

export const decode = (bytes: Uint8Array) => dnsPacket.decode(bytes);
