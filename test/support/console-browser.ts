import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { TEST_API_KEY, type TestApp } from './app';

/*
 * Browser tests of the console: Debian's Chromium driven by playwright-core (never a downloaded
 * browser). The browser may talk to the app under test on 127.0.0.1 and nothing else: every other
 * request is aborted and recorded (tests assert there were none), and host names do not resolve.
 */

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(__dirname, '..', '..');
const CONSOLE_INDEX = join(ROOT, 'dist', 'console-ui', 'index.html');
export const SCREENSHOTS = join(ROOT, 'docs', 'screenshots');

/** The console is served from dist/console-ui: build it once when a test run finds it missing. */
export function ensureConsoleBuilt(): void {
  if (existsSync(CONSOLE_INDEX)) return;
  const r = spawnSync('npm', ['run', 'build:console'], { cwd: ROOT, stdio: 'inherit', timeout: 180_000 });
  if (r.status !== 0 || !existsSync(CONSOLE_INDEX))
    throw new Error(
      'could not build the console (npm run build:console); run `npm run build` and look at its output',
    );
}

export interface ConsoleBrowser {
  context: BrowserContext;
  page: Page;
  /** URLs the page tried to reach outside the app: must stay empty. */
  blocked: string[];
  /** Uncaught errors and console errors of the page (a CSP violation shows here too). */
  pageErrors: string[];
  close(): Promise<void>;
}

export async function openConsole(
  appUrl: string,
  viewport: { width: number; height: number } = { width: 1366, height: 900 },
): Promise<ConsoleBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (.ci/run does this when it is missing)`,
    );
  }
  ensureConsoleBuilt();
  const app = new URL(appUrl);
  const userDataDir = mkdtempSync(join(tmpdir(), 'hf-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--no-proxy-server',
      // No name resolves: even a request that slipped past the route below could not leave the machine.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
    timeout: 30_000,
  });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  const blocked: string[] = [];
  const pageErrors: string[] = [];
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || (url.hostname === app.hostname && url.port === app.port))
      return route.continue();
    blocked.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    // 4xx answers the console handles (a 400 on save, a 409) are logged by Chromium as failed loads.
    if (
      m.type() === 'error' &&
      !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())
    )
      pageErrors.push(m.text());
  });
  return {
    context,
    page,
    blocked,
    pageErrors,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in with the test's bootstrap key and waits for the flows page. */
export async function signIn(page: Page, appUrl: string, path = '/'): Promise<void> {
  await page.goto(appUrl + path);
  await page.getByLabel('API key').fill(TEST_API_KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/**
 * Writes a screenshot under docs/screenshots when CONSOLE_SCREENSHOTS=1 (how the README's are made):
 * the whole page, the viewport (pages with sticky parts), or one element.
 */
export async function screenshot(
  page: Page,
  name: string,
  what: 'page' | 'viewport' | Locator = 'page',
): Promise<void> {
  if (process.env.CONSOLE_SCREENSHOTS !== '1') return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  if (typeof what === 'string') await page.screenshot({ path, fullPage: what === 'page' });
  else await what.screenshot({ path });
}

// Functions passed to page.evaluate run in the page; the tests' tsconfig has no DOM types.
declare const document: any;
declare const window: any;

/** Every form control has a name a screen reader announces (a label, aria-label or aria-labelledby). */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate((): string[] =>
    Array.from<any>(document.querySelectorAll('input, select, textarea, button'))
      .filter((el) => {
        if (el.closest('[hidden], [aria-hidden="true"]') || el.offsetParent === null) return false;
        const labels = el.labels;
        const named =
          (labels && labels.length > 0) ||
          el.getAttribute('aria-label') ||
          el.getAttribute('aria-labelledby') ||
          (el.tagName === 'BUTTON' && (el.textContent ?? '').trim() !== '');
        return !named;
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}

/** True when the page fits the viewport's width (nothing to scroll sideways). */
export async function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate((): boolean => document.documentElement.scrollWidth <= window.innerWidth);
}

/** Removes what a console test made, so the rest of the e2e suite (same database) does not see it. */
export async function cleanUp(t: TestApp, flowNames: string[], secretNames: string[] = []): Promise<void> {
  const flows = (await t.api('GET', '/api/v1/flows?limit=200')).body.items as Array<{
    id: string;
    name: string;
  }>;
  for (const f of flows.filter((x) => flowNames.includes(x.name)))
    await t.api('DELETE', `/api/v1/flows/${f.id}`);
  for (const name of secretNames) await t.api('DELETE', `/api/v1/secrets/${name}`);
}
