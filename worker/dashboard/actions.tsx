/**
 * A load balancer page's actions (mounted at /dashboard/lb, behind the session and CSRF gates of
 * index.tsx): each validates its form (forms.ts), calls the admin API, and redirects back (303)
 * with a notice code; a refusal of the API re-renders the page with the API's own message.
 */
import { Hono, type Context } from 'hono';
import type { ProbePreview } from '../../core/rpc/index.ts';
import type { RouteExplanation } from '../proxy/index.ts';
import { ApiFailure, loadBalancer, unwrap, type Api } from './api.ts';
import { EnabledAction, ExplainFields, MonitorPreviewAction, ORIGIN_OPS, OriginAction, PoolAction, factsOf, firstProblem } from './forms.ts';
import { lbTraffic } from './live.ts';
import { adminOnly, noStore, type DashEnv } from './middleware.ts';
import { LbPage, type LbPageProps } from './views/lb.tsx';
import type { z } from 'zod';

type Status = 200 | 400 | 403 | 404 | 409 | 412;
const STATUSES: readonly number[] = [400, 403, 404, 409, 412];

/** Renders a load balancer's page (with a notice or a tool's result) with `status`. */
export async function renderLb(c: Context<DashEnv>, id: string, extra: Partial<LbPageProps> = {}, status: Status = 200) {
  const lb = await loadBalancer(c.get('api'), id);
  const traffic = await lbTraffic(c.env, lb, Date.now());
  noStore(c);
  return c.html(<LbPage viewer={c.get('viewer')} lb={lb} summary={traffic?.summary} {...extra} />, status);
}

const back = (c: Context, id: string, done: string, subject = '') =>
  c.redirect(`/dashboard/lb/${encodeURIComponent(id)}?done=${done}${subject ? `&subject=${encodeURIComponent(subject)}` : ''}`, 303);

/** The page with the API's refusal as its notice (a 401 goes on to the app's error handler: back to sign-in). */
function refused(c: Context<DashEnv>, id: string, e: unknown) {
  if (!(e instanceof ApiFailure) || !STATUSES.includes(e.status)) throw e;
  return renderLb(c, id, { notice: { tone: 'bad', text: `Nothing changed: ${e.message}` } }, e.status as Status);
}

/** Validates the form with `schema`, runs `act` with the typed client, answers with `act`'s response or the refusal. */
function action<S extends z.ZodType>(schema: S, act: (c: Context<DashEnv>, api: Api, id: string, form: z.output<S>) => Promise<Response>) {
  return async (c: Context<DashEnv>) => {
    const id = c.req.param('id')!;
    const form = schema.safeParse(c.get('form'));
    if (!form.success) return renderLb(c, id, { notice: { tone: 'bad', text: `Nothing changed: ${firstProblem(form.error)}` } }, 400);
    try {
      return await act(c, c.get('api'), id, form.data);
    } catch (e) {
      return refused(c, id, e);
    }
  };
}

export function lbActions() {
  return new Hono<DashEnv>()
    .post(
      '/:id/origin',
      adminOnly,
      action(OriginAction, async (c, api, id, f) => {
        await unwrap(await api.admin.v1.pools[':id'].origins[':name'].$patch({ param: { id: f.pool, name: f.origin }, header: {}, json: ORIGIN_OPS[f.op] }));
        return back(c, id, f.op, f.origin);
      }),
    )
    .post(
      '/:id/enabled',
      adminOnly,
      action(EnabledAction, async (c, api, id, f) => {
        await unwrap(await api.admin.v1.load_balancers[':id'].$patch({ param: { id }, header: {}, json: { enabled: f.enabled } }));
        return back(c, id, f.enabled ? 'lb-enabled' : 'lb-disabled');
      }),
    )
    .post(
      '/:id/pool',
      adminOnly,
      action(PoolAction, async (c, api, id, f) => {
        const { result } = await unwrap(await api.admin.v1.pools[':id'].$patch({ param: { id: f.pool }, header: {}, json: { enabled: f.enabled } }));
        return back(c, id, f.enabled ? 'pool-enabled' : 'pool-disabled', result.name);
      }),
    )
    .post(
      '/:id/monitor-preview',
      adminOnly,
      action(MonitorPreviewAction, async (c, api, id, f) => {
        const { result: pool } = await unwrap(await api.admin.v1.pools[':id'].$get({ param: { id: f.pool } }));
        if (!pool.monitor) return renderLb(c, id, { tool: { kind: 'monitor', pool: pool.name, error: 'This pool has no monitor.' } }, 400);
        // The API previews at most 20 origins at once.
        const origins = pool.origins.slice(0, 20).map((o) => ({ name: o.name, address: o.address, port: o.port }));
        let results: ProbePreview[];
        try {
          results = (await unwrap(await api.admin.v1.monitors[':id'].preview.$post({ param: { id: pool.monitor }, json: { origins } }))).result;
        } catch (e) {
          if (!(e instanceof ApiFailure) || e.status === 401) throw e;
          return renderLb(c, id, { tool: { kind: 'monitor', pool: pool.name, error: e.message } }, 400);
        }
        return renderLb(c, id, { tool: { kind: 'monitor', pool: pool.name, results } });
      }),
    )
    .post(
      '/:id/explain',
      action(ExplainFields, async (c, api, id, form) => {
        let facts;
        try {
          facts = factsOf(form);
        } catch (e) {
          return renderLb(c, id, { tool: { kind: 'explain', form, error: (e as Error).message } }, 400);
        }
        const res = await api.admin.v1.load_balancers[':id'].preview.$post({ param: { id }, json: facts });
        if (res.status === 400) {
          const body = (await res.json()) as { errors: { message: string }[] };
          return renderLb(c, id, { tool: { kind: 'explain', form, error: body.errors.map((e) => e.message).join('; ') } }, 400);
        }
        const explanation = (await unwrap(res)).result as unknown as RouteExplanation;
        return renderLb(c, id, { tool: { kind: 'explain', form, explanation } });
      }),
    );
}
