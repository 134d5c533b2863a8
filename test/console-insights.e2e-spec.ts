import { bootApp, TestApp } from './support/app';
import {
  cleanUp,
  ConsoleBrowser,
  fitsWidth,
  openConsole,
  screenshot,
  signIn,
  unlabelledControls,
} from './support/console-browser';
import { isFinal } from './support/flow-runs';
import { Receiver } from './support/receiver';
import { waitFor } from './support/wait-for';

// The flow page's Insights card: a flow with 100 succeeded and 20 failed runs shows those counts, in
// the chart's summary, its legend and its table, for each range; GET /flows/{id}/stats says the same.

const FLOW_NAME = 'insights check';

describe('console: insights', () => {
  let t: TestApp;
  let rx: Receiver;
  let b: ConsoleBrowser;
  let flowId: string;

  beforeAll(async () => {
    rx = await new Receiver().start();
    rx.script('/ok', [{ status: 200, body: { ok: true } }]);
    rx.script('/bad', [{ status: 500, body: { error: 'down' } }]);
    t = await bootApp();
    const created = await t.api('POST', '/api/v1/flows', {
      name: FLOW_NAME,
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/{{ event.body.path }}`,
          retry: { attempts: 1 },
        },
      ],
    });
    expect(created.status).toBe(201);
    flowId = created.body.id;
    const ids: string[] = [];
    for (let i = 0; i < 120; i++) {
      const res = await t.api('POST', `/api/v1/flows/${flowId}/run`, {
        payload: { path: i < 100 ? 'ok' : 'bad' },
      });
      expect(res.status).toBe(202);
      ids.push(res.body.executionId as string);
    }
    await waitFor(async () => {
      const page = await t.api('GET', `/api/v1/executions?flowId=${flowId}&limit=200`);
      const items = page.body.items as Array<{ status: string }>;
      return items.length === 120 && items.every((e) => isFinal(e.status));
    }, 90_000);
    b = await openConsole(t.url);
    await signIn(b.page, t.url);
  }, 150_000);

  afterAll(async () => {
    if (t) await cleanUp(t, [FLOW_NAME]);
    await b?.close();
    await rx?.stop();
    await t?.close();
  });

  it('GET /flows/{id}/stats counts exactly 100 succeeded and 20 failed in the last 24 h', async () => {
    const from = new Date(Date.now() - 86_400_000).toISOString();
    const res = await t.api('GET', `/api/v1/flows/${flowId}/stats?from=${from}&bucket=1h`);
    expect(res.status).toBe(200);
    const sum = (k: string) => (res.body.buckets as any[]).reduce((n, x) => n + (x[k] as number), 0);
    expect([sum('succeeded'), sum('failed'), sum('filtered'), sum('cancelled')]).toEqual([100, 20, 0, 0]);
  });

  it('charts them on the flow page: summary, legend and table agree, for every range', async () => {
    const page = b.page;
    await page.goto(`${t.url}/flows/${flowId}`);
    const card = page.getByRole('region', { name: 'Insights' });
    await card.locator('.insights-legend').waitFor();
    const chart = card.locator('svg.chart-bars');
    expect(await chart.getAttribute('role')).toBe('img');
    expect(await chart.getAttribute('aria-label')).toMatch(
      /^Runs per hour over the last 24 h: 120 in all, 100 succeeded, 20 failed, 0 filtered, 0 cancelled; at most \d+ in one hour; highest p95 duration .+\.$/,
    );
    const legend = async (key: string) =>
      Number(await card.locator(`.insights-legend li[data-series="${key}"] strong`).textContent());
    expect([
      await legend('succeeded'),
      await legend('failed'),
      await legend('filtered'),
      await legend('cancelled'),
    ]).toEqual([100, 20, 0, 0]);
    // The table for screen readers: its rows add up to the same runs.
    const table = card.locator('table.insights-table');
    const columnSum = async (col: number) => {
      const cells = await table.locator(`tbody tr td:nth-of-type(${col})`).allTextContents();
      return cells.reduce((n, c) => n + Number(c), 0);
    };
    expect([await columnSum(1), await columnSum(2)]).toEqual([100, 20]);
    // The bars: red and green parts are drawn.
    expect(await chart.locator('rect.series-succeeded').count()).toBeGreaterThan(0);
    expect(await chart.locator('rect.series-failed').count()).toBeGreaterThan(0);
    const lines = card.locator('svg.chart-lines');
    expect(await lines.getAttribute('aria-label')).toMatch(
      /^Duration from accepted to finished, p50 and p95 per hour/,
    );
    expect(await lines.locator('path.line-p95').getAttribute('d')).toMatch(/^M/);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'flow-insights', card);

    for (const [label, id, per] of [
      ['7 d', '7d', 'hour'],
      ['30 d', '30d', 'day'],
    ] as const) {
      await card.getByText(label, { exact: true }).click();
      await page.locator(`section.insights[data-range="${id}"] .insights-legend`).waitFor();
      await waitFor(
        async () =>
          ((await chart.getAttribute('aria-label')) ?? '').startsWith(
            `Runs per ${per} over the last ${label}:`,
          ),
        10_000,
      );
      expect(await chart.getAttribute('aria-label')).toContain(
        '120 in all, 100 succeeded, 20 failed, 0 filtered, 0 cancelled',
      );
      expect(await card.getByRole('radio', { name: label }).isChecked()).toBe(true);
    }
    // Keyboard: the range picker is a radio group (arrow keys move the choice).
    await card.getByRole('radio', { name: '30 d' }).focus();
    await page.keyboard.press('ArrowLeft');
    await page.locator('section.insights[data-range="7d"]').waitFor();
    expect(b.blocked).toEqual([]);
    expect(b.pageErrors).toEqual([]);
  });

  it('fits a phone-width window', async () => {
    const page = b.page;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${t.url}/flows/${flowId}`);
    await page.getByRole('region', { name: 'Insights' }).locator('.insights-legend').waitFor();
    expect(await fitsWidth(page)).toBe(true);
    await page.setViewportSize({ width: 1366, height: 900 });
  });
});
