/**
 * The page frame: head (stylesheets, the live-update script), the header with navigation and the
 * sign-out form, and small pieces every page uses (the CSRF field, a status badge, notices).
 */
import { raw } from 'hono/html';
import type { Child, FC, PropsWithChildren } from 'hono/jsx';
import type { Role } from '../../admin/envelope.ts';
import { assetPath } from '../assets.ts';
import type { Tone } from '../format.ts';

/** Who is signed in, as pages need it: the role (read sessions see no actions) and the session's CSRF token. */
export interface Viewer {
  role: Role;
  csrf: string;
}

/** The hidden field every form of a signed-in page carries (the session's synchronizer token). */
export const Csrf: FC<{ viewer: Viewer }> = ({ viewer }) => <input type="hidden" name="_csrf" value={viewer.csrf} />;

export const Badge: FC<{ tone: Tone; field?: string; children: Child }> = ({ tone, field, children }) => (
  <span class={`badge tone-${tone}`} data-f={field}>
    {children}
  </span>
);

/** A message after an action (role=status, so screen readers announce it). */
export const Notice: FC<{ tone: Tone; children: Child }> = ({ tone, children }) => (
  <p class={`notice tone-${tone}`} role={tone === 'bad' ? 'alert' : 'status'}>
    {children}
  </p>
);

export interface PageProps {
  title: string;
  viewer?: Viewer;
  /** URL of the live JSON this page polls (dashboard.js); absent: a static page. */
  live?: string;
  /** Whether the page draws charts (loads uPlot). */
  charts?: boolean;
}

export const Page: FC<PropsWithChildren<PageProps>> = ({ title, viewer, live, charts, children }) => (
  <>
    {raw('<!doctype html>')}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${title} · edge-lb`}</title>
        <link rel="stylesheet" href={assetPath('style.css')} />
        {charts && <link rel="stylesheet" href={assetPath('uplot.css')} />}
        {charts && <script src={assetPath('uplot.js')} defer />}
        {live && <script src={assetPath('dashboard.js')} defer />}
      </head>
      <body data-live={live}>
        <header class="top">
          <nav aria-label="Dashboard">
            <a href="/dashboard/">edge-lb</a>
            {viewer && <a href="/dashboard/">Load balancers</a>}
          </nav>
          {viewer && (
            <div class="actions">
              <span class="who">{viewer.role === 'admin' ? 'Signed in as admin' : 'Signed in read-only'}</span>
              <form class="inline" method="post" action="/dashboard/sign-out">
                <Csrf viewer={viewer} />
                <button type="submit">Sign out</button>
              </form>
            </div>
          )}
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  </>
);
