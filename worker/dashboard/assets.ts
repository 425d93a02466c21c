/**
 * The dashboard's static files, served by the Worker itself (no CDN, no Workers static assets: an
 * assets directory would also answer on load-balanced hostnames). wrangler.toml's `Text` rule (its globs match import specifiers)
 * bundles each file as a string: uPlot (MIT, from node_modules) and the dashboard's own script and
 * stylesheet. URLs carry a hash of the contents, so they are cached as immutable.
 */
import uplotCss from 'uplot/dist/uPlot.min.css';
import uplotJs from 'uplot/dist/uPlot.iife.min.js';
import dashboardJs from './static/dashboard-client.js';
import dashboardCss from './static/dashboard.css';

const FILES: Record<string, { body: string; type: string }> = {
  'uplot.js': { body: uplotJs, type: 'text/javascript; charset=utf-8' },
  'uplot.css': { body: uplotCss, type: 'text/css; charset=utf-8' },
  'dashboard.js': { body: dashboardJs, type: 'text/javascript; charset=utf-8' },
  'style.css': { body: dashboardCss, type: 'text/css; charset=utf-8' },
};

/** 32-bit FNV-1a of every file (hex): the version in asset URLs. Not a security measure. */
function fnv1a(texts: string[]): string {
  let h = 0x811c9dc5;
  for (const t of texts) for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

export const ASSET_VERSION = fnv1a(Object.values(FILES).map((f) => f.body));

/** The URL path of asset `name` (one of FILES' keys). */
export function assetPath(name: keyof typeof FILES & string): string {
  return `/dashboard/static/${ASSET_VERSION}/${name}`;
}

/** The response for `/dashboard/static/<version>/<name>`, or undefined when no such asset (or an old version). */
export function assetResponse(version: string, name: string): Response | undefined {
  const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!file || version !== ASSET_VERSION) return undefined;
  return new Response(file.body, {
    headers: { 'content-type': file.type, 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' },
  });
}
