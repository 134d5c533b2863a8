import { bootApp, fire, TestApp } from './support/app';
import {
  cleanUp,
  ConsoleBrowser,
  fitsWidth,
  openConsole,
  screenshot,
  signIn,
  unlabelledControls,
} from './support/console-browser';
import { Receiver } from './support/receiver';
import { waitFor } from './support/wait-for';

// Control flow in the console: a branch's matched case and nested steps, a forEach's items paged
// and filtered, onError steps, a step waiting for a destination, whose circuit is reset from the
// Destinations page.

const FLOWS = [
  'route invoices',
  'thirty items',
  'nested items',
  'fragile partner',
  'bulk partner',
  'Failures to Slack',
];

async function createFlow(t: TestApp, body: Record<string, unknown>): Promise<any> {
  const res = await t.api('POST', '/api/v1/flows', body);
  expect(res.status).toBe(201);
  return res.body;
}

async function execution(t: TestApp, id: string): Promise<any> {
  return (await t.api('GET', `/api/v1/executions/${id}`)).body;
}

async function fireAt(t: TestApp, flow: any, body: unknown): Promise<string> {
  const res = await fire(flow.trigger.url.replace('http://localhost:3000', t.url), body);
  expect(res.status).toBe(202);
  return res.body.executionId as string;
}

describe('console: branch, forEach, onError and destinations', () => {
  let t: TestApp;
  let receiver: Receiver;
  let b: ConsoleBrowser;
  // Pages the last test loads again at phone width.
  const seen: string[] = [];

  beforeAll(async () => {
    t = await bootApp();
    receiver = await new Receiver().start();
    b = await openConsole(t.url);
    await signIn(b.page, t.url);
  });

  afterAll(async () => {
    if (t) {
      await cleanUp(t, FLOWS, ['SLACK_HOOK']);
      await t.api('DELETE', '/api/v1/destinations/fragile-partner');
    }
    await b?.close();
    await receiver?.stop();
    await t?.close();
  });

  it('shows which case of a branch ran, with its steps indented under it', async () => {
    const page = b.page;
    const flow = await createFlow(t, {
      name: 'route invoices',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'route',
          type: 'branch',
          cases: [
            {
              id: 'paid',
              when: "event.body.type = 'invoice.paid'",
              steps: [{ id: 'fulfil', type: 'http', method: 'POST', url: `${receiver.url}/fulfil` }],
            },
            {
              id: 'failed',
              when: "event.body.type = 'invoice.payment_failed'",
              steps: [{ id: 'dunning', type: 'transform', expression: "'dunning'" }],
            },
          ],
          default: [{ id: 'ignored', type: 'transform', expression: "'ignored'" }],
        },
        { id: 'after', type: 'transform', expression: "'done'" },
      ],
    });
    const id = await fireAt(t, flow, { type: 'invoice.paid' });
    await waitFor(async () => (await execution(t, id)).status === 'succeeded', 10_000);

    await page.goto(`${t.url}/runs/${id}`);
    seen.push(`/runs/${id}`, `/flows/${flow.id}`);
    await page.locator('.run-status .badge', { hasText: 'succeeded' }).waitFor();
    const route = page.locator('.timeline > .timeline-step[data-step="route"]');
    expect(await route.locator('.branch-matched').textContent()).toBe('Ran: case paid');
    const nested = route.getByRole('list', { name: 'Steps run by route' });
    expect(await nested.locator(':scope > .timeline-step').count()).toBe(1);
    const fulfil = nested.locator('.timeline-step[data-step="fulfil"]');
    expect(await fulfil.locator('.request-line').first().textContent()).toBe(`POST ${receiver.url}/fulfil`);
    expect(await fulfil.locator('.attempt').count()).toBe(1);
    expect(await page.locator('.timeline-step[data-step="dunning"]').count()).toBe(0);
    // The step after the branch is at the top level again.
    expect(await page.locator('.timeline > .timeline-step[data-step="after"]').count()).toBe(1);
    await screenshot(page, 'run-branch');
  });

  it('pages a 30-item forEach, filters its items by status and shows the onError steps', async () => {
    const page = b.page;
    receiver.script('/item-false', [{ status: 400, body: { error: 'rejected' } }]);
    const flow = await createFlow(t, {
      name: 'thirty items',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'each',
          type: 'forEach',
          items: 'event.body.items',
          concurrency: 10,
          onItemError: 'continue',
          steps: [
            {
              id: 'call',
              type: 'http',
              method: 'POST',
              url: `${receiver.url}/item-{{ item.ok }}`,
              body: { n: '{{ item.n }}' },
            },
          ],
        },
      ],
      onError: { steps: [{ id: 'alert', type: 'transform', expression: "'failed: ' & error.message" }] },
    });
    const items = Array.from({ length: 30 }, (_, n) => ({ n, ok: n % 10 !== 7 }));
    const id = await fireAt(t, flow, { items });
    await waitFor(async () => (await execution(t, id)).status === 'failed', 30_000);

    await page.goto(`${t.url}/runs/${id}`);
    seen.push(`/runs/${id}`);
    await page.locator('.run-status .badge', { hasText: 'failed' }).waitFor();
    const each = page.locator('.timeline > .timeline-step[data-step="each"]');
    const count = (s: string) => each.locator(`.counts dd[data-count="${s}"]`).textContent();
    expect(await count('total')).toBe('30');
    expect(await count('succeeded')).toBe('27');
    expect(await count('failed')).toBe('3');
    const rows = each.locator('.iteration');
    await rows.first().waitFor();
    // One page of 10 items, never all 30.
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-index')))).toEqual(
      Array.from({ length: 10 }, (_, n) => String(n)),
    );
    expect(await rows.nth(3).locator('.item-value').textContent()).toBe('{"n":3,"ok":true}');
    expect(await rows.nth(3).locator(':scope > details > summary').textContent()).toBe(
      'Steps: call succeeded (1 attempt)',
    );
    await each.getByRole('button', { name: 'Next items' }).click();
    await each.locator('.iteration[data-index="10"]').waitFor();
    expect(await rows.count()).toBe(10);
    await screenshot(page, 'run-foreach');

    await each.getByLabel('Items with status').selectOption('failed');
    await each.locator('.iteration[data-index="27"]').waitFor();
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-index')))).toEqual([
      '7',
      '17',
      '27',
    ]);
    expect(await each.getByRole('button', { name: 'Next items' }).isDisabled()).toBe(true);
    const failed = each.locator('.iteration[data-index="17"]');
    await failed.locator(':scope > details > summary').click();
    expect(await failed.locator('.attempt .error-text').textContent()).toBe('Error: HTTP 400');
    expect(await failed.getByLabel('item 17 call attempt 1 response body').textContent()).toContain(
      'rejected',
    );

    const onError = page.locator('.timeline.on-error');
    expect(await page.getByRole('heading', { name: 'On error' }).count()).toBe(1);
    expect(await onError.locator('.timeline-step[data-step="alert"] .badge').textContent()).toBe('succeeded');
  });

  it('shows the items of a loop inside an outer item, each run paged on its own', async () => {
    const page = b.page;
    const flow = await createFlow(t, {
      name: 'nested items',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'repos',
          type: 'forEach',
          items: 'event.body.repos',
          steps: [
            {
              id: 'commits',
              type: 'forEach',
              items: 'item.commits',
              steps: [{ id: 'line', type: 'transform', expression: "loops.repos.item.name & ':' & item" }],
            },
          ],
        },
      ],
    });
    const id = await fireAt(t, flow, {
      repos: [
        { name: 'api', commits: ['a1', 'a2'] },
        { name: 'cli', commits: ['c1', 'c2', 'c3'] },
      ],
    });
    await waitFor(async () => (await execution(t, id)).status === 'succeeded', 30_000);
    await page.goto(`${t.url}/runs/${id}`);
    const outer = page.getByRole('region', { name: 'Items of repos', exact: true });
    const cli = outer.locator(':scope > ol.iterations > .iteration[data-index="1"]');
    await cli.waitFor();
    await cli.locator(':scope > details > summary').click();
    const inner = cli.getByRole('region', { name: 'Items of item 1 commits' });
    await inner.locator('.iteration[data-index="2"]').waitFor();
    expect(await cli.locator(':scope > details').getAttribute('open')).not.toBeNull();
    expect(await inner.locator('.counts dd[data-count="total"]').textContent()).toBe('3');
    expect(
      await inner.locator('.iteration .item-value').evaluateAll((els) => els.map((e) => e.textContent)),
    ).toEqual(['"c1"', '"c2"', '"c3"']);
  });

  it('says what a waiting step waits for, and resets the circuit from the Destinations page', async () => {
    const page = b.page;
    receiver.script('/partner', [{ status: 503, body: { down: true } }]);
    const host = new URL(receiver.url).host;
    const put = await t.api('PUT', '/api/v1/destinations/fragile-partner', {
      match: [host],
      circuitBreaker: { failures: 1, cooldownMs: 600_000 },
    });
    expect(put.status).toBe(200);
    const flow = await createFlow(t, {
      name: 'fragile partner',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'http',
          method: 'POST',
          url: `${receiver.url}/partner`,
          retry: { attempts: 5, backoff: { type: 'fixed', delayMs: 20 } },
        },
      ],
    });
    const id = await fireAt(t, flow, { order: 1 });
    await waitFor(async () => (await execution(t, id)).steps[0].waitingFor, 10_000);

    await page.goto(`${t.url}/runs/${id}`);
    const send = page.locator('.timeline-step[data-step="send"]');
    expect(await send.locator('.waiting-for').textContent()).toBe(
      'waiting: destination fragile-partner: circuit open',
    );

    receiver.script('/partner', [{ status: 200, body: { ok: true } }]);
    await page.getByRole('link', { name: 'Destinations', exact: true }).click();
    const row = page.locator('tr[data-destination="fragile-partner"]');
    await row.locator('.badge', { hasText: 'open' }).waitFor();
    expect(await row.locator('td[data-label="Waiting"]').textContent()).toBe('1');
    await screenshot(page, 'destinations');
    await row.getByRole('button', { name: 'Reset the circuit of fragile-partner' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset the circuit of fragile-partner?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Reset circuit' }).click();
    await row.locator('.badge', { hasText: 'closed' }).waitFor();
    await waitFor(async () => (await execution(t, id)).status === 'succeeded', 10_000);
    expect(receiver.at('/partner').length).toBeGreaterThanOrEqual(2);
  });

  it('retries every failed run of a flow: the count first, a confirmation, then progress until done', async () => {
    const page = b.page;
    receiver.script('/bulk', [{ status: 400, body: { error: 'not yet' } }]);
    const flow = await createFlow(t, {
      name: 'bulk partner',
      trigger: { type: 'webhook' },
      steps: [{ id: 'deliver', type: 'http', method: 'POST', url: `${receiver.url}/bulk` }],
    });
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push(await fireAt(t, flow, { n }));
    const statuses = async () => Promise.all(ids.map(async (id) => (await execution(t, id)).status));
    await waitFor(async () => (await statuses()).every((s) => s === 'failed'), 15_000);

    await page.goto(`${t.url}/flows/${flow.id}/runs`);
    seen.push(`/flows/${flow.id}/runs`, '/destinations');
    const bulk = page.getByRole('region', { name: 'Retry failed runs' });
    const button = bulk.getByRole('button', { name: 'Retry all 5 failed' });
    await button.waitFor();
    // A time range narrows the count: nothing failed in the future.
    await bulk.getByLabel('Received from').fill('2099-01-01T00:00');
    await bulk.getByRole('button', { name: 'No failed runs to retry' }).waitFor();
    expect(await bulk.getByRole('button', { name: 'No failed runs to retry' }).isDisabled()).toBe(true);
    await bulk.getByLabel('Received from').fill('');
    await button.waitFor();

    receiver.script('/bulk', [{ status: 200, body: { ok: true } }]);
    await button.click();
    const dialog = page.getByRole('dialog', { name: 'Retry all 5 failed runs?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Retry 5 runs' }).click();
    const progress = bulk.getByLabel(/^(Retrying|Done)/);
    await progress.waitFor();
    await screenshot(page, 'runs-bulk-retry');
    await bulk.getByText('Done: 5 of 5 retried').waitFor({ timeout: 20_000 });
    expect(await progress.getAttribute('value')).toBe('5');
    expect(await progress.getAttribute('max')).toBe('5');
    await waitFor(async () => (await statuses()).every((s) => s === 'succeeded'), 15_000);
    await bulk.getByRole('button', { name: 'No failed runs to retry' }).waitFor();
    await page.locator('tr[data-run] .badge', { hasText: 'succeeded' }).first().waitFor();
    expect(await page.locator('tr[data-run] .badge', { hasText: 'failed' }).count()).toBe(0);
    await screenshot(page, 'runs-bulk-done');
  });

  it('offers Failures → Slack as a template and tries it with POST /flows/test', async () => {
    const page = b.page;
    expect(
      (await t.api('PUT', '/api/v1/secrets/SLACK_HOOK', { value: `${receiver.url}/slack` })).status,
    ).toBe(200);
    await page.goto(`${t.url}/flows/new`);
    await page.getByLabel('Start from').selectOption('failures-slack');
    await waitFor(
      async () => (await page.getByLabel('Name (required)').inputValue()) === 'Failures to Slack',
    );
    const posts: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => {
      if (r.method() === 'POST') posts.push(new URL(r.url()).pathname);
    };
    await page.getByLabel('Sample event').selectOption('execution-failed');
    page.on('request', onRequest);
    await page.getByRole('button', { name: 'Try it', exact: true }).click();
    const post = page.locator('.dry-step[data-step="post"]');
    await post.waitFor();
    page.off('request', onRequest);
    expect(posts).toEqual(['/api/v1/flows/test']);
    expect(await post.locator('.badge').textContent()).toBe('would run');
    expect(await post.getByLabel('post request body').textContent()).toContain(
      'orders to the ERP failed at erp: step erp failed: HTTP 503',
    );
    await page.getByRole('button', { name: 'Create flow' }).click();
    await page.getByText('Saved: version 1, disabled.').waitFor();
    const saved = (await t.api('GET', '/api/v1/flows?limit=200')).body.items.find(
      (f: any) => f.name === 'Failures to Slack',
    );
    expect(saved.trigger).toMatchObject({ type: 'event', event: 'hookflow.execution.failed' });
  });

  it('edits a branch and a forEach with nested step forms, keeps onError, and round-trips the JSON tab', async () => {
    const page = b.page;
    const flows = (await t.api('GET', '/api/v1/flows?limit=200')).body.items as any[];

    // The branch: its cases and their steps are forms; a step is added to the default in the form.
    const route = flows.find((f) => f.name === 'route invoices');
    await page.goto(`${t.url}/flows/${route.id}`);
    const first = page.getByRole('group', { name: 'Step 1: route (branch)', exact: true });
    expect(await page.locator('select[name="steps[0].type"]').inputValue()).toBe('branch');
    const paid = first.getByRole('group', { name: 'Case 1: paid' });
    expect(await paid.getByLabel('When (JSONata) (required)').inputValue()).toBe(
      "event.body.type = 'invoice.paid'",
    );
    const fulfil = page.getByRole('group', { name: 'Step 1.1.1: fulfil (http)', exact: true });
    expect(await fulfil.getByLabel('URL (required)').inputValue()).toBe(`${receiver.url}/fulfil`);
    expect(
      await page.getByRole('group', { name: 'Step 1.d.1: ignored (transform)', exact: true }).count(),
    ).toBe(1);
    // Try it shows the case the branch would take and its step's request.
    const eventBox = page.getByLabel('Event (JSON: body, headers, query, method, …)');
    await eventBox.fill(JSON.stringify({ body: { type: 'invoice.paid' } }));
    await page.getByRole('button', { name: 'Try it', exact: true }).click();
    const wouldRun = page.getByRole('list', { name: 'Steps route would run' });
    await wouldRun.waitFor();
    expect(await wouldRun.locator('.dry-step[data-step="fulfil"] .request-line').textContent()).toBe(
      `POST ${receiver.url}/fulfil`,
    );
    expect(JSON.parse((await page.getByLabel('route output').textContent())!)).toEqual({ matched: ['paid'] });
    await page.getByLabel('New step type (in the default of route)').selectOption('transform');
    await page.getByRole('button', { name: 'Add step in the default of route' }).click();
    const added = page.getByRole('group', { name: /^Step 1\.d\.2:/ });
    await added.getByLabel('Expression (JSONata) (required)').fill("'also'");
    expect(await added.getByLabel('Step id (required)').inputValue()).toBe('transform');
    // The sticky save bar would cover part of the case in an element screenshot.
    const saveBar = page.locator('.save-bar');
    await saveBar.evaluate((el: any) => (el.style.visibility = 'hidden'));
    await screenshot(page, 'builder-branch', paid);
    await saveBar.evaluate((el: any) => (el.style.visibility = ''));

    await page.getByRole('tab', { name: 'JSON' }).click();
    const shown = JSON.parse(await page.getByLabel('Flow definition (JSON)').inputValue());
    expect(shown.steps[0].cases).toEqual(route.steps[0].cases);
    expect(shown.steps[0].default).toEqual([
      ...route.steps[0].default,
      { id: 'transform', type: 'transform', expression: "'also'" },
    ]);
    await page.getByRole('tab', { name: 'Form' }).click();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved: version 2').waitFor();
    const routeAfter = (await t.api('GET', `/api/v1/flows/${route.id}`)).body;
    expect(routeAfter.steps).toEqual(shown.steps);

    // The forEach: items and the per-item steps are forms; onError is shown read-only and kept.
    const loop = flows.find((f) => f.name === 'thirty items');
    await page.goto(`${t.url}/flows/${loop.id}`);
    const each = page.getByRole('group', { name: 'Step 1: each (forEach)', exact: true });
    expect(await each.getByLabel('Items (JSONata giving a list) (required)').inputValue()).toBe(
      'event.body.items',
    );
    expect(await each.getByLabel('When an item fails').inputValue()).toBe('continue');
    expect(await page.getByRole('group', { name: 'Step 1.1: call (http)', exact: true }).count()).toBe(1);
    expect(await page.getByRole('region', { name: 'On error' }).textContent()).toContain('JSON');
    const twelve = Array.from({ length: 12 }, (_, n) => ({ n, ok: true }));
    await page
      .getByLabel('Event (JSON: body, headers, query, method, …)')
      .fill(JSON.stringify({ body: { items: twelve } }));
    await page.getByRole('button', { name: 'Try it', exact: true }).click();
    const dryEach = page.locator('.dry-step[data-step="each"]');
    await dryEach.locator('.dry-total').waitFor();
    expect(await dryEach.locator('.dry-total').textContent()).toBe('12 items; the first 10 are shown');
    expect(await dryEach.locator('.dry-items > li').count()).toBe(10);
    await dryEach.locator('.dry-items > li[data-index="3"] summary').click();
    expect(await dryEach.locator('.dry-items > li[data-index="3"] .request-line').textContent()).toBe(
      `POST ${receiver.url}/item-true`,
    );
    await page.getByRole('tab', { name: 'JSON' }).click();
    const shownLoop = JSON.parse(await page.getByLabel('Flow definition (JSON)').inputValue());
    expect(shownLoop.steps).toEqual(loop.steps);
    expect(shownLoop.onError).toEqual(loop.onError);
    await page.getByRole('tab', { name: 'Form' }).click();
    await page.getByLabel('Description (optional)').fill('edited in the form');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved: version 2').waitFor();
    const loopAfter = (await t.api('GET', `/api/v1/flows/${loop.id}`)).body;
    expect(loopAfter.description).toBe('edited in the form');
    expect(loopAfter.steps).toEqual(loop.steps);
    expect(loopAfter.onError).toEqual(loop.onError);
  });

  it('labels every control of the new parts, fits a phone, and reached nothing but the app', async () => {
    const phone = await openConsole(t.url, { width: 390, height: 844 });
    try {
      await signIn(phone.page, t.url);
      for (const path of seen) {
        await phone.page.goto(t.url + path);
        await phone.page.locator('main h1').waitFor();
        await phone.page.waitForLoadState('networkidle');
        expect({ path, fits: await fitsWidth(phone.page) }).toEqual({ path, fits: true });
        expect({ path, unlabelled: await unlabelledControls(phone.page) }).toEqual({ path, unlabelled: [] });
      }
      expect(phone.blocked).toEqual([]);
      expect(phone.pageErrors).toEqual([]);
    } finally {
      await phone.close();
    }
    expect(b.blocked).toEqual([]);
    expect(b.pageErrors).toEqual([]);
  });
});
