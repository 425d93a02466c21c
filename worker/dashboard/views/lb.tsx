/**
 * A load balancer's page: its charts, its pools and their origins (health, ejection, drain, weight,
 * RTT, last check) with their actions, the routing explainer and monitor preview, and the event log.
 * Every table is server-rendered; dashboard.js updates the `data-f` cells in place.
 */
import type { FC } from 'hono/jsx';
import { EVENTS_SHOWN, type LbView, type OriginView, type PoolView } from '../api.ts';
import { eventLine, originCells, poolLine } from '../format.ts';
import { Badge, Csrf, Notice, Page, type Viewer } from './layout.tsx';
import { Explainer, MonitorPreviewResult, type ToolResult } from './tools.tsx';

export interface LbPageProps {
  viewer: Viewer;
  lb: LbView;
  notice?: { tone: 'ok' | 'bad'; text: string };
  tool?: ToolResult;
  /** Recent requests/s and error rate, formatted (live.ts lbTraffic); absent without traffic metrics. */
  summary?: { rate: string; errors: string };
}

const base = (lb: LbView) => `/dashboard/lb/${encodeURIComponent(lb.id)}`;

/** One small POST form: a button and its hidden fields. */
const Action: FC<{ viewer: Viewer; action: string; fields: Record<string, string>; label: string; text: string }> = (p) => (
  <form class="inline" method="post" action={p.action}>
    <Csrf viewer={p.viewer} />
    {Object.entries(p.fields).map(([name, value]) => (
      <input type="hidden" name={name} value={value} />
    ))}
    <button type="submit" aria-label={p.label}>
      {p.text}
    </button>
  </form>
);

const OriginRow: FC<{ viewer: Viewer; lb: LbView; pool: PoolView; o: OriginView }> = ({ viewer, lb, pool, o }) => {
  const { cells, tone } = originCells(o);
  const act = (op: string, text: string) => (
    <Action
      viewer={viewer}
      action={`${base(lb)}/origin`}
      fields={{ pool: pool.id, origin: o.name, op }}
      label={`${text} origin ${o.name} of pool ${pool.name}`}
      text={text}
    />
  );
  return (
    <tr data-k={o.key}>
      <th scope="row">
        {o.name}
        <span class="address">{`${o.address}${o.port ? `:${o.port}` : ''}`}</span>
      </th>
      <td>
        <Badge tone={tone} field="health">
          {cells.health}
        </Badge>
      </td>
      <td data-f="rotation">{cells.rotation}</td>
      <td class="num">{o.weight}</td>
      <td class="num" data-f="rtt">
        {cells.rtt}
      </td>
      <td class="wrap" data-f="check">
        {cells.check}
      </td>
      <td data-f="since">{cells.since}</td>
      <td class="num" data-f="total">
        {cells.total}
      </td>
      <td class="num" data-f="share">
        –
      </td>
      {viewer.role === 'admin' && (
        <td>
          <div class="actions nowrap">
            {o.enabled ? act('disable', 'Disable') : act('enable', 'Enable')}
            {o.drain ? act('undrain', 'Undrain') : act('drain', 'Drain')}
          </div>
        </td>
      )}
    </tr>
  );
};

const PoolSection: FC<{ viewer: Viewer; lb: LbView; pool: PoolView }> = ({ viewer, lb, pool }) => {
  const line = poolLine(pool);
  const heading = `pool-${pool.id}`;
  return (
    <section aria-labelledby={heading} data-pool={pool.id}>
      <h2 id={heading}>
        Pool {pool.name}{' '}
        <Badge tone={line.tone} field="verdict">
          {line.text}
        </Badge>
      </h2>
      {viewer.role === 'admin' && (
        <div class="actions">
          <Action
            viewer={viewer}
            action={`${base(lb)}/pool`}
            fields={{ pool: pool.id, enabled: String(!pool.enabled) }}
            label={`${pool.enabled ? 'Disable' : 'Enable'} pool ${pool.name}`}
            text={pool.enabled ? 'Disable pool' : 'Enable pool'}
          />
          {pool.monitor && (
            <Action
              viewer={viewer}
              action={`${base(lb)}/monitor-preview`}
              fields={{ pool: pool.id }}
              label={`Preview monitor of pool ${pool.name}`}
              text="Preview monitor"
            />
          )}
        </div>
      )}
      <div class="scroll">
        <table>
          <caption>Origins of pool {pool.name}</caption>
          <thead>
            <tr>
              <th scope="col">Origin (address)</th>
              <th scope="col">Health</th>
              <th scope="col">Traffic</th>
              <th scope="col" class="num">
                Weight
              </th>
              <th scope="col" class="num">
                Probe RTT
              </th>
              <th scope="col">Last check</th>
              <th scope="col">Verdict since</th>
              <th scope="col" class="num">
                Requests seen
              </th>
              <th scope="col" class="num">
                Share (last 6 s)
              </th>
              {viewer.role === 'admin' && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {pool.origins.map((o) => (
              <OriginRow viewer={viewer} lb={lb} pool={pool} o={o} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
};

export const LbPage: FC<LbPageProps> = ({ viewer, lb, notice, tool, summary }) => (
  <Page title={lb.name} viewer={viewer} live={`${base(lb)}/live.json`} charts>
    <h1>
      {lb.name}{' '}
      <Badge tone={lb.enabled ? 'ok' : 'off'} field="lb-enabled">
        {lb.enabled ? 'enabled' : 'disabled'}
      </Badge>
    </h1>
    <p class="muted">
      Steering: {lb.steering} · id {lb.id} · <span data-live-status>updates every 2 seconds while this page is open</span>
    </p>
    {viewer.role === 'admin' && (
      <div class="actions">
        <Action
          viewer={viewer}
          action={`${base(lb)}/enabled`}
          fields={{ enabled: String(!lb.enabled) }}
          label={`${lb.enabled ? 'Disable' : 'Enable'} load balancer ${lb.name}`}
          text={lb.enabled ? 'Disable load balancer' : 'Enable load balancer'}
        />
      </div>
    )}
    {notice && <Notice tone={notice.tone}>{notice.text}</Notice>}
    <section aria-labelledby="traffic">
      <h2 id="traffic">Traffic</h2>
      <p>
        Requests/s: <strong data-f="rate">{summary?.rate ?? '–'}</strong> · error rate: <strong data-f="errors">{summary?.errors ?? '–'}</strong>{' '}
        <span class="muted">(last 30 s)</span>
      </p>
      <div class="charts">
        <figure class="chart" data-chart="rate" role="img" aria-label="Requests per second, all origins">
          <figcaption>Requests/s</figcaption>
        </figure>
        <figure class="chart" data-chart="share" role="img" aria-label="Share of requests per origin, percent">
          <figcaption>Traffic share per origin (%)</figcaption>
        </figure>
        <figure class="chart" data-chart="latency" role="img" aria-label="Latency percentiles, milliseconds">
          <figcaption>Latency percentiles (ms)</figcaption>
          <p class="muted" data-latency-note>
            Appears once traffic metrics are collected.
          </p>
        </figure>
      </div>
      <noscript>
        <p class="muted">Charts need JavaScript; the tables below are complete without it.</p>
      </noscript>
    </section>
    {lb.pools.map((pool) => (
      <PoolSection viewer={viewer} lb={lb} pool={pool} />
    ))}
    {tool?.kind === 'monitor' && <MonitorPreviewResult result={tool} />}
    <Explainer viewer={viewer} action={`${base(lb)}/explain`} result={tool?.kind === 'explain' ? tool : undefined} />
    <section aria-labelledby="events">
      <h2 id="events">Events</h2>
      <div class="scroll">
        <table>
          <caption>Latest health events, newest first (at most {EVENTS_SHOWN})</caption>
          <thead>
            <tr>
              <th scope="col">At</th>
              <th scope="col">Origin</th>
              <th scope="col">Change</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody data-events>
            {lb.events.map((e) => {
              const l = eventLine(e);
              return (
                <tr>
                  <td>{l.at}</td>
                  <td>{l.subject}</td>
                  <td>{l.change}</td>
                  <td>{l.reason}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  </Page>
);
