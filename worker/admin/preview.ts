/**
 * The routing explainer, `POST /load_balancers/{id}/preview`: the facts of a request that did not
 * happen, routed by the same code as traffic (the Worker entry's `explain`, AdminDeps).
 */
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { TOKEN } from '../../core/config/http-patterns.ts';
import { ErrorCode, IdSchema } from '../../core/config/index.ts';
import { BODY_LIMIT, jsonBody } from './body.ts';
import { Envelope, failure, failures, json, ok, type AdminBindings, type AdminEnv } from './envelope.ts';

/** What a Headers object accepts in a value: no CR, LF or NUL (RFC 9110 section 5.5), and bytes only (≤ U+00FF). */
const HEADER_VALUE = /^[^\r\n\0\u0100-\uffff]*$/;

/** What the routing explainer is asked: the facts of a request that did not happen. */
export const PreviewFacts = z
  .strictObject({
    colo: z.string().optional().describe('IATA code of the edge colo, e.g. LAX'),
    country: z.string().length(2).optional(),
    continent: z.string().length(2).optional(),
    latitude: z.number().min(-90).max(90).optional(),
    longitude: z.number().min(-180).max(180).optional(),
    client_ip: z.string().optional(),
    method: z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/, 'must be an HTTP method (RFC 9110 token)')
      .optional()
      .describe('the method load balancing rules see (http.request.method); default GET'),
    path: z.string().startsWith('/').default('/'),
    headers: z
      .record(z.string().regex(TOKEN), z.string().regex(HEADER_VALUE, 'must not contain CR, LF, NUL or characters above U+00FF'), {
        error: (issue) => (issue.code === 'invalid_key' ? 'is not a header name (RFC 9110 token)' : undefined),
      })
      .default({}),
    cookies: z.record(z.string(), z.string()).default({}),
  })
  .meta({ id: 'PreviewFacts' });
export type PreviewFacts = z.output<typeof PreviewFacts>;

/** Routes `facts` through the same code as traffic; undefined for an unknown load balancer id. */
export type Explain = (env: AdminBindings, ctx: ExecutionContext, lbId: string, facts: PreviewFacts) => Promise<unknown | undefined>;

const explainer = createRoute({
  method: 'post',
  path: '/load_balancers/{id}/preview',
  summary: 'Routing explainer: route hypothetical request facts through the same code as traffic',
  middleware: jsonBody(BODY_LIMIT),
  request: {
    params: z.object({ id: IdSchema.describe('load balancer id') }),
    body: { required: true, content: { 'application/json': { schema: PreviewFacts } } },
  },
  responses: {
    200: json(
      Envelope(
        z
          .record(z.string(), z.unknown())
          .describe(
            'steering_policy, pools considered (usable_origins, verdict), the chosen pool and origin, hash_key, candidates, result; rules: those that matched and the fields they set; acl: the access control list entry that decided (null: none), result denied or redirected when it answers',
          ),
      ),
      "The route this isolate's config and health would take",
    ),
    ...failures(400, 401, 404, 413, 415),
  },
});

export function explainerRoutes(explain: Explain) {
  return new OpenAPIHono<AdminEnv>().openapi(explainer, async (c) => {
    const { id } = c.req.valid('param');
    const result = await explain(c.env, c.executionCtx as ExecutionContext, id, c.req.valid('json'));
    if (result === undefined) return failure(c, 404, [{ code: ErrorCode.notFound, message: `load balancer ${id} not found` }]);
    return c.json(ok(result as Record<string, unknown>), 200);
  });
}
