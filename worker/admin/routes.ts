/**
 * The admin API's route table. One table drives both the handlers (admin/index.ts) and the
 * OpenAPI 3.1 document, which @hono/zod-openapi generates from the core zod schemas.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { LoadBalancerSchema, MonitorSchema, PoolSchema, type Kind } from '../../core/config/index.ts';
import { PreviewFacts } from './preview.ts';

export const API_PREFIX = '/admin/v1';

export const RESOURCES: readonly { kind: Kind; schema: z.ZodType; noun: string }[] = [
  { kind: 'monitors', schema: MonitorSchema, noun: 'monitor' },
  { kind: 'pools', schema: PoolSchema, noun: 'pool' },
  { kind: 'load_balancers', schema: LoadBalancerSchema, noun: 'load balancer' },
];

const ErrorSchema = z.object({ code: z.int(), message: z.string(), path: z.string().optional() });
const envelope = (result: z.ZodType) =>
  z.object({ success: z.boolean(), errors: z.array(ErrorSchema), messages: z.array(z.unknown()), result });
const Failure = envelope(z.null()).meta({ id: 'Failure' });
const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
const ifMatch = z.object({ 'if-match': z.string().optional().describe('ETag from a read; 412 when stale') });
const errors = {
  400: json(Failure, 'Invalid input: each error names the field path and the reason; nothing stored'),
  401: json(Failure, 'Missing or wrong bearer token (or no ADMIN_TOKEN configured)'),
};

/** Builds the OpenAPI 3.1 document of the admin API from the zod schemas. */
export function openApiDocument(): object {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  for (const { kind, schema, noun } of RESOURCES) {
    const one = envelope(schema);
    const base = `${API_PREFIX}/${kind}`;
    const params = z.object({ id: z.string().describe(`${noun} id`) });
    const security = [{ bearer: [] }];
    registry.registerPath({ method: 'get', path: base, summary: `List ${kind}`, security, responses: { 200: json(envelope(z.array(schema)), `All ${kind}`), 401: errors[401] } });
    registry.registerPath({
      method: 'post', path: base, summary: `Create a ${noun}`, security,
      request: { body: { content: { 'application/json': { schema } } } },
      responses: { 201: json(one, `The created ${noun}, with its server-generated id`), ...errors, 409: json(Failure, 'Conflict, such as a hostname already in use') },
    });
    registry.registerPath({ method: 'get', path: `${base}/{id}`, summary: `Read a ${noun}`, security, request: { params }, responses: { 200: json(one, `The ${noun}; ETag header`), 404: json(Failure, 'Not found'), 401: errors[401] } });
    registry.registerPath({
      method: 'put', path: `${base}/{id}`, summary: `Replace a ${noun}`, security,
      request: { params, headers: ifMatch, body: { content: { 'application/json': { schema } } } },
      responses: { 200: json(one, `The ${noun} as stored`), ...errors, 404: json(Failure, 'Not found'), 412: json(Failure, 'If-Match is stale') },
    });
    registry.registerPath({
      method: 'patch', path: `${base}/{id}`, summary: `Change some fields of a ${noun} (JSON Merge Patch, RFC 7396)`, security,
      request: { params, headers: ifMatch, body: { content: { 'application/merge-patch+json': { schema: z.record(z.string(), z.unknown()) } } } },
      responses: { 200: json(one, `The ${noun} as stored`), ...errors, 404: json(Failure, 'Not found'), 412: json(Failure, 'If-Match is stale') },
    });
    registry.registerPath({
      method: 'delete', path: `${base}/{id}`, summary: `Delete a ${noun}`, security, request: { params, headers: ifMatch },
      responses: { 200: json(envelope(z.object({ id: z.string() })), 'Deleted'), 404: json(Failure, 'Not found'), 409: json(Failure, 'Still referenced; nothing deleted'), 412: json(Failure, 'If-Match is stale'), 401: errors[401] },
    });
  }
  const Config = z
    .object({ version: z.int().optional(), monitors: z.array(MonitorSchema), pools: z.array(PoolSchema), load_balancers: z.array(LoadBalancerSchema) })
    .meta({ id: 'ConfigDocument' });
  registry.registerPath({ method: 'get', path: `${API_PREFIX}/config`, summary: 'Export the whole configuration', security: [{ bearer: [] }], responses: { 200: json(envelope(Config), 'The configuration; ETag header'), 401: errors[401] } });
  registry.registerPath({
    method: 'put', path: `${API_PREFIX}/config`, summary: 'Replace the whole configuration, all or nothing', security: [{ bearer: [] }],
    request: { headers: ifMatch, body: { content: { 'application/json': { schema: Config } } } },
    responses: { 200: json(envelope(Config), 'The configuration as stored'), ...errors, 409: json(Failure, 'Conflict'), 412: json(Failure, 'If-Match is stale') },
  });
  registerHealthPaths(registry);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'edge-lb admin API', version: '1.0.0', description: 'Cloudflare Load Balancing names; responses use the v4 envelope {success, errors, messages, result}.' },
  });
}

function registerHealthPaths(registry: OpenAPIRegistry): void {
  const security = [{ bearer: [] }];
  const id = z.object({ id: z.string() });
  const OriginHealth = z.object({
    healthy: z.boolean(), rtt: z.number().nullable().describe('ms'), failure_reason: z.string().nullable(),
    response_code: z.int().nullable(), changed_at: z.string().nullable(), ejected_until: z.string().nullable(),
  });
  const PoolHealth = z.object({
    pool_id: z.string(), healthy: z.boolean(),
    pop_health: z.object({ global: z.object({ healthy: z.boolean(), origins: z.array(z.record(z.string(), OriginHealth)) }) }),
  }).meta({ id: 'PoolHealth' });
  const BackendStat = z.object({
    pool_id: z.string(), origin: z.string(), address: z.string(), port: z.int(),
    server_state: z.enum(['running', 'stopping', 'stopped', 'starting']), server_state_changed_at: z.string().nullable(),
    last_health_check_status: z.enum(['unknown', 'passed', 'failed']), total_count: z.int(),
  }).meta({ id: 'BackendStat' });
  const HealthEvent = z.object({ id: z.int(), at: z.string(), poolId: z.string(), origin: z.string(), from: z.string(), to: z.string(), reason: z.string() }).meta({ id: 'HealthEvent' });
  const Preview = z.object({ origins: z.array(z.object({ name: z.string().optional(), address: z.string(), port: z.int() })).min(1).max(20) });
  const PreviewResult = z.object({ name: z.string(), address: z.string(), port: z.int(), healthy: z.boolean(), rtt: z.number(), response_code: z.int().nullable(), failure_reason: z.string().nullable() });
  registry.registerPath({
    method: 'patch', path: `${API_PREFIX}/pools/{id}/origins/{name}`, summary: 'Change one origin of a pool (JSON Merge Patch); the rest is kept', security,
    request: { params: z.object({ id: z.string(), name: z.string() }), body: { content: { 'application/merge-patch+json': { schema: z.record(z.string(), z.unknown()) } } } },
    responses: { 200: json(envelope(PoolSchema), 'The pool as stored'), ...errors, 404: json(Failure, 'No such pool or origin'), 412: json(Failure, 'If-Match is stale') },
  });
  registry.registerPath({ method: 'get', path: `${API_PREFIX}/pools/{id}/health`, summary: "Pool health (Cloudflare's shape)", security, request: { params: id }, responses: { 200: json(envelope(PoolHealth), 'Health of the pool and its origins'), 404: json(Failure, 'Not found'), 401: errors[401] } });
  registry.registerPath({ method: 'get', path: `${API_PREFIX}/load_balancers/{id}/backend-stats`, summary: 'Per-origin state and traffic counts', security, request: { params: id }, responses: { 200: json(envelope(z.array(BackendStat)), 'One row per origin of every pool the load balancer uses'), 404: json(Failure, 'Not found'), 401: errors[401] } });
  registry.registerPath({
    method: 'get', path: `${API_PREFIX}/load_balancers/{id}/events`, summary: 'Health event log, newest first', security,
    request: { params: id, query: z.object({ limit: z.int().min(1).max(500).optional(), before: z.int().optional().describe('event id: the next (older) page') }) },
    responses: { 200: json(envelope(z.array(HealthEvent)), 'Events; result_info.next_before pages back'), ...errors, 404: json(Failure, 'Not found') },
  });
  registry.registerPath({
    method: 'post', path: `${API_PREFIX}/load_balancers/{id}/preview`, summary: 'Routing explainer: route hypothetical request facts through the same code as traffic', security,
    request: { params: id, body: { content: { 'application/json': { schema: PreviewFacts } } } },
    responses: { 200: json(envelope(z.record(z.string(), z.unknown())), 'Steering policy, pools considered and why, chosen pool and origin, candidates'), ...errors, 404: json(Failure, 'Not found') },
  });
  registry.registerPath({
    method: 'post', path: `${API_PREFIX}/monitors/{id}/preview`, summary: 'Probe the given origins with this monitor now (nothing stored)', security,
    request: { params: id, body: { content: { 'application/json': { schema: Preview } } } },
    responses: { 200: json(envelope(z.array(PreviewResult)), 'What each probe saw'), ...errors, 404: json(Failure, 'Not found') },
  });
}
