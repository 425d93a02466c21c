/**
 * The routing explainer (request facts → the admin API's POST /load_balancers/{id}/preview) and
 * the monitor preview's results (POST /monitors/{id}/preview), as a load balancer's page shows them.
 */
import type { FC } from 'hono/jsx';
import type { ProbePreview } from '../../../core/rpc/index.ts';
import type { RouteExplanation } from '../../proxy/index.ts';
import { ms } from '../format.ts';
import { Badge, Csrf, Notice, type Viewer } from './layout.tsx';

/** The explainer form's fields as the operator typed them (echoed back with the answer). */
export interface ExplainForm {
  country: string;
  colo: string;
  client_ip: string;
  path: string;
  headers: string;
  cookies: string;
}

export type ToolResult =
  | { kind: 'explain'; form: ExplainForm; explanation?: RouteExplanation; error?: string }
  | { kind: 'monitor'; pool: string; results?: ProbePreview[]; error?: string };

const Field: FC<{ name: keyof ExplainForm; label: string; value: string; hint?: string }> = ({ name, label, value, hint }) => (
  <label>
    {label}
    <input type="text" name={name} value={value} aria-describedby={hint ? `${name}-hint` : undefined} />
    {hint && (
      <span id={`${name}-hint`} class="muted">
        {hint}
      </span>
    )}
  </label>
);

const Explanation: FC<{ e: RouteExplanation }> = ({ e }) => (
  <div data-explanation>
    <p>
      <Badge tone={e.result === 'routed' ? 'ok' : e.result === 'panic' ? 'warn' : 'bad'}>{e.result}</Badge> Steering <strong>{e.steering_policy}</strong>
      {e.pool && (
        <>
          {' '}
          → pool <strong>{e.pool}</strong>, origin <strong>{e.origin}</strong> ({e.origin_steering}
          {e.hash_key ? `, hash key ${e.hash_key}` : ''})
        </>
      )}
    </p>
    <div class="scroll">
      <table>
        <caption>Pools considered, in steering order</caption>
        <thead>
          <tr>
            <th scope="col">Pool</th>
            <th scope="col" class="num">
              Usable origins
            </th>
            <th scope="col" class="num">
              Minimum
            </th>
            <th scope="col">Verdict</th>
          </tr>
        </thead>
        <tbody>
          {e.pools.map((p) => (
            <tr>
              <th scope="row">{p.name}</th>
              <td class="num">{p.usable_origins}</td>
              <td class="num">{p.minimum_origins}</td>
              <td>{p.verdict}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
    {e.candidates.length > 0 && <p>Attempt order: {e.candidates.join(' → ')}</p>}
    {e.affinity && (
      <p>
        Affinity ({e.affinity.session_affinity}): {e.affinity.pin ? `pinned to ${e.affinity.pin.pool_id}/${e.affinity.pin.origin}` : 'no pin'},{' '}
        {e.affinity.honoured ? 'honoured' : 'not honoured'}: {e.affinity.why}
      </p>
    )}
  </div>
);

export const Explainer: FC<{ viewer: Viewer; action: string; result?: Extract<ToolResult, { kind: 'explain' }> }> = ({ viewer, action, result }) => {
  const f = result?.form ?? { country: '', colo: '', client_ip: '', path: '/', headers: '', cookies: '' };
  return (
    <section aria-labelledby="explainer">
      <h2 id="explainer">Routing explainer</h2>
      <p class="muted">What would a request with these facts do? Routed by the same code as traffic, with this edge's health and load.</p>
      <form method="post" action={`${action}#explainer`}>
        <Csrf viewer={viewer} />
        <div class="grid-form">
          <Field name="country" label="Country (ISO 3166, 2 letters)" value={f.country} />
          <Field name="colo" label="Colo (IATA code)" value={f.colo} />
          <Field name="client_ip" label="Client IP" value={f.client_ip} />
          <Field name="path" label="Path" value={f.path} />
          <label>
            Headers (one "Name: value" a line)
            <textarea name="headers" rows={3}>
              {f.headers}
            </textarea>
          </label>
          <label>
            Cookies (one "name=value" a line)
            <textarea name="cookies" rows={3}>
              {f.cookies}
            </textarea>
          </label>
        </div>
        <p>
          <button class="primary" type="submit">
            Explain
          </button>
        </p>
      </form>
      {result?.error && <Notice tone="bad">{result.error}</Notice>}
      {result?.explanation && <Explanation e={result.explanation} />}
    </section>
  );
};

export const MonitorPreviewResult: FC<{ result: Extract<ToolResult, { kind: 'monitor' }> }> = ({ result }) => (
  <section aria-labelledby="monitor-preview">
    <h2 id="monitor-preview">Monitor preview of pool {result.pool}</h2>
    {result.error && <Notice tone="bad">{result.error}</Notice>}
    {result.results && (
      <div class="scroll">
        <table>
          <caption>What one probe of each origin saw just now (nothing stored)</caption>
          <thead>
            <tr>
              <th scope="col">Origin</th>
              <th scope="col">Result</th>
              <th scope="col" class="num">
                RTT
              </th>
              <th scope="col" class="num">
                Status
              </th>
              <th scope="col">Failure</th>
            </tr>
          </thead>
          <tbody>
            {result.results.map((r) => (
              <tr>
                <th scope="row">{r.name}</th>
                <td>
                  <Badge tone={r.healthy ? 'ok' : 'bad'}>{r.healthy ? 'healthy' : 'unhealthy'}</Badge>
                </td>
                <td class="num">{ms(r.rtt)}</td>
                <td class="num">{r.response_code ?? '–'}</td>
                <td>{r.failure_reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </section>
);
