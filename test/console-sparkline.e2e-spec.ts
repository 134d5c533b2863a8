import type { Page, Route } from 'playwright-core';
import { bootApp, TestApp } from './support/app';
import {
  cleanUp,
  ConsoleBrowser,
  fitsWidth,
  openConsole,
  screenshot,
  signIn,
} from './support/console-browser';
import { createFlow, isFinal } from './support/flow-runs';
import { Receiver } from './support/receiver';
import { waitFor } from './support/wait-for';

// The flows list's 24 h sparkline (its numbers in words, fetched 4 at a time after the list shows, a
// failed stats request showing nothing), the Insights card's 1 h range, and the dark theme.

const BUSY = 'sparkline busy';
const BROKEN = 'sparkline broken stats';
const IDLE = ['sparkline idle 1', 'sparkline idle 2', 'sparkline idle 3', 'sparkline idle 4'];

// Functions passed to page.evaluate run in the page; the tests' tsconfig has no DOM types.
declare const document: any;
declare const window: any;

/** Relative luminance of a CSS `rgb()`/`rgba()` colour. */
function luminance(css: string): number {
  const [r, g, b] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => Number(v) / 255);
  const lin = (v: number) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/**
 * Every visible element holding text of its own, whose text is below 4.5:1 against the background
 * it is painted on (the nearest opaque background up the tree): [text, ratio, colour, background].
 */
function lowContrast(page: Page): Promise<string[]> {
  return page.evaluate((): string[] => {
    const parse = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = (c: number[]) => {
      const lin = (v: number) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
    };
    const backgroundOf = (el: any): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(window.getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return parse(window.getComputedStyle(document.documentElement).backgroundColor).slice(0, 3);
    };
    const out: string[] = [];
    for (const el of Array.from<any>(document.querySelectorAll('body *'))) {
      const own = Array.from<any>(el.childNodes).some(
        (n) => n.nodeType === 3 && (n.textContent ?? '').trim() !== '',
      );
      if (!own || el.offsetParent === null || el.closest('.visually-hidden, [aria-hidden="true"], svg'))
        continue;
      if (el.disabled || el.closest('button:disabled')) continue; // WCAG exempts disabled controls
      const style = window.getComputedStyle(el);
      const fg = lum(parse(style.color));
      const bg = lum(backgroundOf(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < 4.5)
        out.push(
          `${(el.textContent ?? '').trim().slice(0, 40)} ${ratio.toFixed(2)} ${style.color} on ${backgroundOf(el).join(',')}`,
        );
    }
    return out;
  });
}

describe('console: sparklines, the 1 h range and the dark theme', () => {
  let t: TestApp;
  let rx: Receiver;
  let b: ConsoleBrowser;
  let busyId: string;
  let brokenId: string;

  beforeAll(async () => {
    rx = await new Receiver().start();
    rx.script('/ok', [{ status: 200, body: { ok: true } }]);
    rx.script('/bad', [{ status: 500, body: { error: 'down' } }]);
    t = await bootApp();
    const step = {
      id: 'send',
      type: 'http',
      method: 'POST',
      url: `${rx.url}/{{ event.body.path }}`,
      retry: { attempts: 1 },
    };
    for (const name of IDLE) await createFlow(t, { name, steps: [step] });
    brokenId = (await createFlow(t, { name: BROKEN, steps: [step] })).id;
    busyId = (await createFlow(t, { name: BUSY, steps: [step] })).id;
    // 9 succeeded and 3 failed runs.
    for (let i = 0; i < 12; i++) {
      const res = await t.api('POST', `/api/v1/flows/${busyId}/run`, {
        payload: { path: i < 9 ? 'ok' : 'bad' },
      });
      expect(res.status).toBe(202);
    }
    await waitFor(async () => {
      const page = await t.api('GET', `/api/v1/executions?flowId=${busyId}&limit=50`);
      const items = page.body.items as Array<{ status: string }>;
      return items.length === 12 && items.every((e) => isFinal(e.status));
    }, 60_000);
    b = await openConsole(t.url);
    await signIn(b.page, t.url);
  }, 120_000);

  afterAll(async () => {
    if (t) await cleanUp(t, [BUSY, BROKEN, ...IDLE]);
    await b?.close();
    await rx?.stop();
    await t?.close();
  });

  it('GET /flows/{id}/stats: 9 succeeded and 3 failed over 24 h in hours and over 1 h in minutes', async () => {
    const sums = async (ms: number, bucket: string) => {
      const from = new Date(Date.now() - ms).toISOString();
      const res = await t.api('GET', `/api/v1/flows/${busyId}/stats?from=${from}&bucket=${bucket}`);
      expect(res.status).toBe(200);
      const sum = (k: string) => (res.body.buckets as any[]).reduce((n, x) => n + (x[k] as number), 0);
      return [sum('succeeded'), sum('failed'), sum('filtered'), sum('cancelled')];
    };
    expect(await sums(86_400_000, '1h')).toEqual([9, 3, 0, 0]);
    expect(await sums(3_600_000, '1m')).toEqual([9, 3, 0, 0]);
  });

  it('the flows list shows first, then a sparkline per flow, 4 stats requests at a time; a failed one shows nothing', async () => {
    const page = b.page;
    // Off the flows list first (sign-in left it loading its own sparklines), so that every stats
    // request counted below is this visit's.
    await page.goto(`${t.url}/secrets`);
    await page.getByRole('heading', { name: 'Secrets', level: 1 }).waitFor();
    const asked: string[] = [];
    let inFlight = 0;
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handler = async (route: Route) => {
      const id = /\/flows\/([^/]+)\/stats/.exec(route.request().url())?.[1] ?? '';
      asked.push(id);
      inFlight++;
      most = Math.max(most, inFlight);
      try {
        await gate;
        if (id === brokenId)
          await route.fulfill({ status: 503, contentType: 'application/json', body: '{"message":"down"}' });
        else await route.fulfill({ response: await route.fetch() });
      } catch {
        // the page went away while the answer was held (only when a check above failed)
      } finally {
        inFlight--;
      }
    };
    await page.route('**/api/v1/flows/*/stats*', handler);
    try {
      await page.goto(`${t.url}/flows`);
      const busy = page.locator(`li[data-flow="${busyId}"]`);
      const broken = page.locator(`li[data-flow="${brokenId}"]`);
      // The list is on screen while every stats answer is held back.
      await busy.getByRole('heading', { name: BUSY }).waitFor();
      await broken.getByRole('heading', { name: BROKEN }).waitFor();
      await waitFor(async () => asked.length >= 4, 10_000);
      await page.waitForTimeout(300); // would a fifth request start while four are held?
      expect(asked.length).toBe(4);
      expect(await page.locator('svg.sparkline').count()).toBe(0);
      release();

      const spark = busy.locator('svg.sparkline');
      await spark.waitFor();
      expect(await spark.getAttribute('role')).toBe('img');
      expect(await spark.getAttribute('aria-label')).toBe('last 24 h: 12 runs, 3 failed');
      expect(await busy.getByRole('img', { name: 'last 24 h: 12 runs, 3 failed' }).count()).toBe(1);
      expect(await spark.locator('rect.spark-failed').count()).toBeGreaterThan(0);
      expect(await spark.locator('rect.spark-runs').count()).toBeGreaterThan(0);
      for (const name of IDLE) {
        const row = page.locator('li.flow-row', { has: page.getByRole('heading', { name }) });
        await row.locator('svg.sparkline').waitFor();
        expect(await row.locator('svg.sparkline').getAttribute('aria-label')).toBe(
          'last 24 h: 0 runs, 0 failed',
        );
        expect(await row.locator('svg.sparkline rect').count()).toBe(0);
      }
      // Only the flows listed were asked for, each once, never more than 4 at a time.
      const listed = await page
        .locator('li.flow-row')
        .evaluateAll((els: any[]) => els.map((e) => e.getAttribute('data-flow') as string));
      await waitFor(async () => asked.length === listed.length && inFlight === 0, 10_000);
      expect([...asked].sort()).toEqual([...listed].sort());
      expect(most).toBe(4);
      // The flow whose stats failed: no sparkline, no error anywhere on the page.
      expect(await broken.locator('svg.sparkline').count()).toBe(0);
      expect(await broken.locator('.flow-stats dt').allTextContents()).toEqual([
        'Status',
        'Last run',
        'Failed in 24 h',
      ]);
      expect(await page.locator('.notice.error, [role="alert"]').count()).toBe(0);
      // Chromium logs the refused request itself; nothing else went wrong.
      const refused = b.pageErrors.filter((m) => /status of 503/.test(m));
      expect(refused.length).toBeLessThanOrEqual(1);
      b.pageErrors.splice(0, b.pageErrors.length, ...b.pageErrors.filter((m) => !refused.includes(m)));
      expect(b.pageErrors).toEqual([]);
      expect(await busy.locator('.flow-stats dd').nth(2).textContent()).toBe('3');
      await screenshot(page, 'flows-sparkline', busy);
    } finally {
      release();
      await page.unroute('**/api/v1/flows/*/stats*', handler);
    }
    expect(b.blocked).toEqual([]);
  });

  it('the Insights card has a 1 h range in minutes that counts the same runs', async () => {
    const page = b.page;
    await page.goto(`${t.url}/flows/${busyId}`);
    const card = page.getByRole('region', { name: 'Insights' });
    await card.locator('.insights-legend').waitFor();
    expect(
      await card.getByRole('radio').evaluateAll((els: any[]) => els.map((e) => e.value as string)),
    ).toEqual(['1h', '24h', '7d', '30d']);
    expect(await card.getByRole('radio', { name: '24 h' }).isChecked()).toBe(true);
    await card.getByText('1 h', { exact: true }).click();
    await page.locator('section.insights[data-range="1h"] .insights-legend').waitFor();
    const chart = card.locator('svg.chart-bars');
    await waitFor(
      async () =>
        ((await chart.getAttribute('aria-label')) ?? '').startsWith('Runs per minute over the last 1 h:'),
      10_000,
    );
    expect(await chart.getAttribute('aria-label')).toMatch(
      /^Runs per minute over the last 1 h: 12 in all, 9 succeeded, 3 failed, 0 filtered, 0 cancelled; at most \d+ in one minute; highest p95 duration .+\.$/,
    );
    // 60 or 61 minute buckets (from is rounded down to a minute): one bar slot each.
    // The bars are drawn after the label: wait until the minute buckets replaced the hours.
    const slots = await waitFor(async () => {
      const widths = await chart
        .locator('rect')
        .evaluateAll((els: any[]) => els.map((e) => Number(e.getAttribute('width'))));
      return widths.length > 0 && Math.max(...widths) < 600 / 59 ? widths : null;
    }, 10_000);
    expect(Math.max(...slots)).toBeLessThan(600 / 59);
    const legend = async (key: string) =>
      Number(await card.locator(`.insights-legend li[data-series="${key}"] strong`).textContent());
    expect([await legend('succeeded'), await legend('failed')]).toEqual([9, 3]);
    expect(await card.locator('table.insights-table thead th').first().textContent()).toBe('Minute from');
    expect(b.pageErrors).toEqual([]);
  });

  it('follows a dark system theme: dark background, readable text on every page, the charts still told in words', async () => {
    const page = b.page;
    // Light first: the same contrast check holds.
    await page.goto(`${t.url}/flows`);
    await page.locator(`li[data-flow="${busyId}"] svg.sparkline`).waitFor();
    const bodyBg = () =>
      page.evaluate((): string => window.getComputedStyle(document.body).backgroundColor as string);
    expect(luminance(await bodyBg())).toBeGreaterThan(0.8);
    // The check itself finds grey on grey.
    await page.evaluate(() => {
      const p = document.createElement('p');
      p.id = 'grey-on-grey';
      p.textContent = 'hard to read';
      p.style.color = '#777777';
      p.style.background = '#888888';
      document.querySelector('main').append(p);
    });
    expect((await lowContrast(page)).map((m) => m.split(' 1.')[0])).toEqual(['hard to read']);
    await page.evaluate(() => document.getElementById('grey-on-grey').remove());
    expect(await lowContrast(page)).toEqual([]);

    await page.emulateMedia({ colorScheme: 'dark' });
    try {
      await page.goto(`${t.url}/flows`);
      const spark = page.locator(`li[data-flow="${busyId}"] svg.sparkline`);
      await spark.waitFor();
      expect(luminance(await bodyBg())).toBeLessThan(0.02);
      expect(await spark.getAttribute('aria-label')).toBe('last 24 h: 12 runs, 3 failed');
      expect(await lowContrast(page)).toEqual([]);
      await screenshot(page, 'flows-dark', 'viewport');

      await page.goto(`${t.url}/flows/${busyId}`);
      const card = page.getByRole('region', { name: 'Insights' });
      await card.locator('.insights-legend').waitFor();
      expect(luminance(await bodyBg())).toBeLessThan(0.02);
      expect(await card.locator('svg.chart-bars').getAttribute('aria-label')).toContain(
        '12 in all, 9 succeeded, 3 failed',
      );
      // The chart's colours come from the theme's variables.
      const fill = await card
        .locator('svg.chart-bars rect.series-failed')
        .first()
        .evaluate((e: any): string => window.getComputedStyle(e).fill as string);
      expect(fill).toBe('rgb(248, 113, 113)');
      expect(await lowContrast(page)).toEqual([]);
      await screenshot(page, 'flow-insights-dark', 'viewport');

      // The other pages: runs, one run, the new-flow form, destinations, secrets, keys.
      const runs = await t.api('GET', `/api/v1/executions?flowId=${busyId}&status=failed&limit=1`);
      for (const [path, ready] of [
        [`/flows/${busyId}/runs`, 'table'],
        [`/runs/${runs.body.items[0].id as string}`, '.timeline-step'],
        ['/flows/new', 'form'],
        ['/destinations', 'h1'],
        ['/secrets', 'h1'],
        ['/keys', 'h1'],
      ] as const) {
        await page.goto(`${t.url}${path}`);
        await page.locator(ready).first().waitFor();
        await page.locator('h1').first().waitFor();
        expect(luminance(await bodyBg())).toBeLessThan(0.02);
        expect([path, await lowContrast(page)]).toEqual([path, []]);
      }
      // A confirmation dialog.
      await page.goto(`${t.url}/flows`);
      const idle = page.locator('li.flow-row', { has: page.getByRole('heading', { name: IDLE[0] }) });
      await idle.getByRole('button', { name: 'Delete' }).click();
      const dialog = page.getByRole('dialog', { name: `Delete ${IDLE[0]}?` });
      await dialog.waitFor();
      expect(await lowContrast(page)).toEqual([]);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      // The builder with a dry run and with errors placed on their fields.
      await page.goto(`${t.url}/flows/new`);
      await page.getByLabel('Name (required)').fill('sparkline never saved');
      await page.getByLabel('New step type').selectOption('http');
      await page.getByRole('button', { name: 'Add step' }).click();
      await page.getByLabel('URL (required)').fill('http://127.0.0.1:9/{{ steps.nothing. }}');
      await page.getByRole('button', { name: 'Create flow' }).click();
      await page.getByRole('alert').filter({ hasText: 'problem' }).waitFor();
      expect(await page.getByLabel('URL (required)').getAttribute('aria-invalid')).toBe('true');
      expect(await lowContrast(page)).toEqual([]);
      await page.getByLabel('URL (required)').fill('http://127.0.0.1:9/hook');
      await page.getByRole('button', { name: 'Try it', exact: true }).click();
      await page.locator('.dry-step').first().waitFor();
      expect(await lowContrast(page)).toEqual([]);
      await screenshot(page, 'builder-dark', 'viewport');
      await page.goto(`${t.url}/flows/${busyId}`);
      await page.getByRole('region', { name: 'Insights' }).locator('.insights-legend').waitFor();
      expect(await fitsWidth(page)).toBe(true);
      // The sign-in page (a new tab has no key).
      const fresh = await b.context.newPage();
      try {
        await fresh.emulateMedia({ colorScheme: 'dark' });
        await fresh.goto(t.url);
        await fresh.getByLabel('API key').waitFor();
        expect(await lowContrast(fresh)).toEqual([]);
      } finally {
        await fresh.close();
      }
    } finally {
      await page.emulateMedia({ colorScheme: 'light' });
    }
    expect(b.blocked).toEqual([]);
    expect(b.pageErrors).toEqual([]);
  });
});
