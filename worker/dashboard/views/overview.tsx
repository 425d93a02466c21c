/** The overview: every load balancer with its health at a glance and its traffic. */
import type { FC } from 'hono/jsx';
import type { OverviewRow } from '../api.ts';
import { OVERVIEW_MAX } from '../api.ts';
import { overviewCells } from '../format.ts';
import { Badge, Page, type Viewer } from './layout.tsx';

export const Overview: FC<{ viewer: Viewer; rows: OverviewRow[] }> = ({ viewer, rows }) => (
  <Page title="Load balancers" viewer={viewer} live="/dashboard/live.json">
    <h1>Load balancers</h1>
    <p class="muted live-status" data-live-status>
      Updates every 2 seconds while this page is open.
    </p>
    {rows.length === 0 ? (
      <p>No load balancer is configured yet: create one through the admin API.</p>
    ) : (
      <div class="scroll">
        <table>
          <caption>
            {rows.length} load balancer{rows.length === 1 ? '' : 's'}
            {rows.length === OVERVIEW_MAX ? ` (the first ${OVERVIEW_MAX} by name)` : ''}
          </caption>
          <thead>
            <tr>
              <th scope="col">Hostname</th>
              <th scope="col">Status</th>
              <th scope="col" class="num">
                Pools healthy
              </th>
              <th scope="col" class="num">
                Origins healthy
              </th>
              <th scope="col" class="num">
                Requests/s
              </th>
              <th scope="col" class="num">
                Error rate
              </th>
              <th scope="col" class="num">
                Requests seen
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const { cells, tone } = overviewCells(r);
              return (
                <tr data-k={r.id}>
                  <th scope="row">
                    <a href={`/dashboard/lb/${encodeURIComponent(r.id)}`}>{r.name}</a>
                  </th>
                  <td>
                    <Badge tone={tone} field="status">
                      {cells.status}
                    </Badge>
                  </td>
                  <td class="num" data-f="pools">
                    {cells.pools}
                  </td>
                  <td class="num" data-f="origins">
                    {cells.origins}
                  </td>
                  <td class="num" data-f="rate">
                    {cells.rate}
                  </td>
                  <td class="num" data-f="errors">
                    {cells.errors}
                  </td>
                  <td class="num" data-f="total">
                    {cells.total}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    )}
    <p class="muted">
      Requests/s and error rate (5xx, connection errors and timeouts per attempt) over the last 30 s of traffic metrics; a dash when nothing was sent.
    </p>
  </Page>
);
