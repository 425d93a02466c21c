/**
 * A real browser for the dashboard's end-to-end test: Debian's Chromium driven by playwright-core,
 * headless, with the flags that keep it off the network (this machine's closed network refuses
 * Chromium's background connections), plus an axe-core check and a place for screenshots.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

/** Where screenshots are kept (git-ignored). */
export const ARTEFACTS = join(process.cwd(), 'test-results', 'dashboard');

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launches headless Chromium; Playwright gives each launch a fresh temporary user-data-dir. */
export function launchChromium(): Promise<Browser> {
  mkdirSync(ARTEFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The page's document, as axe.run takes it (this project's types have no DOM). */
declare const document: unknown;

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** axe-core's violations on the page as it is now (WCAG 2.x A and AA rules and best practices). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol, which the page's CSP (script-src 'self') does not govern; a <script> tag would be refused.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const { violations } = await axe.run(document, { resultTypes: ['violations'] });
    return violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
}

/** Only what axe rates serious or critical, as "id (impact): help @ targets" lines. */
export function serious(violations: AxeViolation[]): string[] {
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} @ ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
}

/** Waits (default 10 s) until the locator's first match has text matching `expected`; the error says what it last read, then `diagnostics()`. */
export async function waitForText(locator: Locator, expected: string | RegExp, timeoutMs = 10_000, diagnostics = () => ''): Promise<void> {
  const end = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < end) {
    seen =
      (await locator
        .first()
        .textContent({ timeout: 1000 })
        .catch(() => null)) ?? '';
    if (typeof expected === 'string' ? seen.includes(expected) : expected.test(seen)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`expected ${String(expected)}, last saw ${JSON.stringify(seen)}\n${diagnostics()}`);
}
