/**
 * Hostile and careless admin inputs, generated with fast-check: the classes of input that once
 * made the admin API answer 500 or stored config that traffic could not survive (deep JSON, huge
 * bodies, names that become headers, cookies or keys, ids JavaScript objects treat specially,
 * explainer facts with bad header names), mixed with arbitrary JSON and arbitrary text. Shared by
 * the test suite (a fixed seed, ≥ 1,000 inputs) and `npm run fuzz` (long runs).
 */
import fc from 'fast-check';

export interface AdminInput {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  contentType: string;
  body: string | undefined;
}

const nasty = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'a b',
  'x\r\ny: 1',
  'a|b',
  'é',
  '\u0000',
  '',
  ' ',
  'cookie:',
  'cookie:a, b c',
  '../x',
  '%0d%0a',
  'A'.repeat(300),
);
const name = fc.oneof(nasty, fc.string({ maxLength: 20 }), fc.constantFrom('o1', 'x-session', 'p'));
const origin = fc.record(
  { name, address: fc.oneof(fc.constant('127.0.0.1'), name), port: fc.oneof(fc.integer({ min: -1, max: 70000 }), fc.constant(8080)) },
  { requiredKeys: ['name', 'address'] },
);
const pool = fc.record(
  {
    id: name,
    name,
    origins: fc.array(origin, { maxLength: 3 }),
    origin_steering: fc.record({
      policy: fc.constantFrom('hash', 'random', 'nope'),
      hash_key: fc.record({ type: fc.constantFrom('header', 'cookie', 'ip'), name }),
    }),
    monitor: name,
  },
  { requiredKeys: ['name', 'origins'] },
);
const monitor = fc.record(
  { id: name, header: fc.dictionary(name, fc.array(name, { maxLength: 2 }), { maxKeys: 2 }), path: fc.oneof(name, fc.constant('/')) },
  { requiredKeys: [] },
);
const lb = fc.record(
  {
    id: name,
    name: fc.oneof(name, fc.constant('app.example.com')),
    default_pools: fc.array(name, { maxLength: 2 }),
    fallback_pool: name,
    session_affinity: fc.constantFrom('header', 'cookie', 'none', 'bad'),
    session_affinity_attributes: fc.record({ headers: fc.array(name, { maxLength: 2 }) }),
    trace_header: fc.boolean(),
  },
  { requiredKeys: ['name'] },
);
const doc = fc.record({
  monitors: fc.array(monitor, { maxLength: 2 }),
  pools: fc.array(pool, { maxLength: 2 }),
  load_balancers: fc.array(lb, { maxLength: 2 }),
});

/** JSON nested `depth` levels deep, arrays or objects. */
const deep = fc.integer({ min: 100, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth));
const deepObject = fc.integer({ min: 100, max: 20_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
/** Bodies past every limit (the test keeps these few: each is megabytes). */
const huge = fc.constantFrom(20, 8).map((mb) =>
  JSON.stringify({
    monitors: [],
    pools: [{ name: 'p', description: 'x'.repeat(mb * 1024 * 1024), origins: [{ name: 'o', address: '127.0.0.1' }] }],
    load_balancers: [],
  }),
);
const previewFacts = fc.record(
  {
    headers: fc.dictionary(name, name, { maxKeys: 3 }),
    cookies: fc.dictionary(name, name, { maxKeys: 2 }),
    path: fc.oneof(name, fc.constant('/')),
    client_ip: name,
  },
  { requiredKeys: [] },
);

const json = (v: unknown) => JSON.stringify(v);

export const adminInput: fc.Arbitrary<AdminInput> = fc.oneof(
  { weight: 4, arbitrary: doc.map((d) => ({ method: 'PUT' as const, path: '/config', contentType: 'application/json', body: json(d) })) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom('pools', 'monitors', 'load_balancers'), fc.oneof(pool, monitor, lb))
      .map(([kind, v]) => ({ method: 'POST' as const, path: `/${kind}`, contentType: 'application/json', body: json(v) })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom('pools', 'monitors', 'load_balancers'), name, fc.oneof(pool, lb, fc.jsonValue())).map(([kind, id, v]) => ({
      method: 'PATCH' as const,
      path: `/${kind}/${encodeURIComponent(id)}`,
      contentType: 'application/merge-patch+json',
      body: json(v),
    })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(name, previewFacts).map(([id, f]) => ({
      method: 'POST' as const,
      path: `/load_balancers/${encodeURIComponent(id || 'x')}/preview`,
      contentType: 'application/json',
      body: json(f),
    })),
  },
  {
    weight: 1,
    arbitrary: previewFacts.map((f) => ({ method: 'POST' as const, path: '/load_balancers/fuzz-lb/preview', contentType: 'application/json', body: json(f) })),
  },
  { weight: 1, arbitrary: fc.oneof(deep, deepObject).map((body) => ({ method: 'PUT' as const, path: '/config', contentType: 'application/json', body })) },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => ({ method: 'PUT' as const, path: '/config', contentType: 'application/json', body: json(v) })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((body) => ({ method: 'POST' as const, path: '/pools', contentType: 'application/json', body })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('GET', 'DELETE') as fc.Arbitrary<'GET' | 'DELETE'>, fc.constantFrom('pools', 'monitors', 'load_balancers', 'config', 'nope'), name)
      .map(([method, kind, id]) => ({ method, path: `/${kind}/${encodeURIComponent(id)}`, contentType: 'application/json', body: undefined })),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 50 }).map((body) => ({ method: 'POST' as const, path: '/monitors', contentType: 'text/plain', body })) },
);

/** A few huge bodies, sent apart from the generated run (each is megabytes). */
export const hugeInputs: fc.Arbitrary<AdminInput> = huge.map((body) => ({ method: 'PUT' as const, path: '/config', contentType: 'application/json', body }));
