import type { Locator, Page } from 'playwright-core';
import { bootApp, fire, TestApp } from './support/app';
import {
  cleanUp,
  ConsoleBrowser,
  openConsole,
  screenshot,
  signIn,
  unlabelledControls,
} from './support/console-browser';
import { Receiver } from './support/receiver';
import { waitFor } from './support/wait-for';
import { githubSign } from './support/github-sign';

// Runs in the page (page.evaluate); the tests' tsconfig has no DOM types.
declare const document: any;

// The builder, from a browser: flows made with the forms only, tried, saved, fired and watched.

/** The step fieldset whose legend starts "Step n:". */
function step(page: Page, n: number): Locator {
  return page.getByRole('group', { name: new RegExp(`^Step ${n}:`) });
}

async function addStep(page: Page, type: string): Promise<void> {
  await page.getByLabel('New step type').selectOption(type);
  await page.getByRole('button', { name: 'Add step' }).click();
}

async function flowByName(t: TestApp, name: string): Promise<any> {
  const list = await t.api('GET', '/api/v1/flows?limit=200');
  return list.body.items.find((f: { name: string }) => f.name === name);
}

describe('console: build, try, enable and watch a flow', () => {
  let t: TestApp;
  let receiver: Receiver;
  let b: ConsoleBrowser;

  beforeAll(async () => {
    t = await bootApp();
    receiver = await new Receiver().start();
    b = await openConsole(t.url);
    await signIn(b.page, t.url);
  });

  afterAll(async () => {
    if (t)
      await cleanUp(
        t,
        ['pushes to our API', 'fixed expression', 'GitHub push to Slack'],
        ['GITHUB_HOOK', 'SLACK_HOOK'],
      );
    await b?.close();
    await receiver?.stop();
    await t?.close();
  });

  it('builds a webhook → transform → http flow with the forms, tries it, enables it and watches a run succeed', async () => {
    const page = b.page;
    // The receiver holds its answer 4 s, so the run is watched live in the timeline.
    receiver.script('/pushes', [{ status: 200, body: { ok: true }, delayMs: 4000 }]);
    await page.getByRole('link', { name: 'New flow' }).click();
    await page.getByRole('heading', { name: 'New flow' }).waitFor();
    await page.getByLabel('Name (required)').fill('pushes to our API');
    await page
      .getByLabel('Run only events where (optional JSONata)')
      .fill("event.body.ref = 'refs/heads/main'");

    await addStep(page, 'transform');
    const first = step(page, 1);
    await first.getByLabel('Step id (required)').fill('summary');
    await first
      .getByLabel('Expression (JSONata) (required)')
      .fill("{ 'who': event.body.pusher.name, 'n': $count(event.body.commits) }");

    await addStep(page, 'http');
    const second = step(page, 2);
    await second.getByLabel('Step id (required)').fill('forward');
    await second.getByLabel('URL (required)').fill(`${receiver.url}/pushes`);
    await second.getByRole('button', { name: 'Add header' }).click();
    await second.getByLabel('Header 1', { exact: true }).fill('x-source');
    await second
      .getByRole('group', { name: 'Headers' })
      .getByLabel('Value 1', { exact: true })
      .fill('hookflow');
    const body = second.getByRole('group', { name: 'Body fields' });
    await body.getByLabel('Field 1', { exact: true }).fill('who');
    await body.getByLabel('Value 1', { exact: true }).fill('{{ steps.summary.who }}');
    await body.getByRole('button', { name: 'Add field' }).click();
    await body.getByLabel('Field 2', { exact: true }).fill('commits');
    await body.getByLabel('Value 2', { exact: true }).fill('{{ steps.summary.n }}');

    // Try it before saving: the dry run shows the request the http step would send.
    await page.getByLabel('Sample event').selectOption('github-push');
    // Other suites share the database: only flow records written from here on count.
    const triedFrom = new Date().toISOString();
    const tried: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => {
      if (r.method() === 'POST') tried.push(new URL(r.url()).pathname);
    };
    page.on('request', onRequest);
    await page.getByRole('button', { name: 'Try it', exact: true }).click();
    const forward = page.locator('.dry-step[data-step="forward"]');
    await forward.waitFor();
    expect(await forward.locator('.request-line').textContent()).toBe(`POST ${receiver.url}/pushes`);
    expect(JSON.parse((await forward.getByLabel('forward request body').textContent())!)).toEqual({
      who: 'ada',
      commits: 2,
    });
    expect(await page.locator('.dry-step[data-step="summary"] .badge').textContent()).toBe('would run');
    await step(page, 2).getByRole('group', { name: 'Body', exact: true }).scrollIntoViewIfNeeded();
    await screenshot(page, 'builder', 'viewport');
    page.off('request', onRequest);
    // The unsaved definition was tried by POST /flows/test: no flow was made, nothing audited, nothing ran.
    expect(tried).toEqual(['/api/v1/flows/test']);
    expect(await flowByName(t, 'pushes to our API')).toBeUndefined();
    const audit = (await t.api('GET', '/api/v1/audit?limit=200')).body.items;
    expect(audit.filter((a: any) => a.action.startsWith('flow.') && a.at >= triedFrom)).toEqual([]);
    expect(receiver.requests).toHaveLength(0);

    await page.getByLabel('Enabled: the trigger starts runs').check();
    await page.getByRole('button', { name: 'Create flow' }).click();
    await page.getByText('Saved: version 1, enabled.').waitFor();
    await page.getByRole('heading', { name: 'Flow: pushes to our API' }).waitFor();

    const flow = await flowByName(t, 'pushes to our API');
    expect(page.url()).toBe(`${t.url}/flows/${flow.id}`);
    expect(flow).toMatchObject({
      enabled: true,
      version: 1,
      filter: "event.body.ref = 'refs/heads/main'",
      steps: [
        {
          id: 'summary',
          type: 'transform',
          expression: "{ 'who': event.body.pusher.name, 'n': $count(event.body.commits) }",
        },
        {
          id: 'forward',
          type: 'http',
          method: 'POST',
          url: `${receiver.url}/pushes`,
          headers: { 'x-source': 'hookflow' },
          body: { who: '{{ steps.summary.who }}', commits: '{{ steps.summary.n }}' },
        },
      ],
    });
    expect(flow.trigger).toEqual({ type: 'webhook', token: flow.trigger.token, url: flow.trigger.url });
    expect(Object.keys(flow.steps[1]).sort()).toEqual(['body', 'headers', 'id', 'method', 'type', 'url']);
    // The trigger URL is on the page, ready to copy.
    expect(await page.getByLabel('Trigger URL (give it to the sending app)').inputValue()).toBe(
      flow.trigger.url,
    );

    const fired = await fire(`${t.url}/hooks/${flow.trigger.token}`, {
      ref: 'refs/heads/main',
      pusher: { name: 'grace' },
      commits: [{}, {}, {}],
    });
    expect(fired.status).toBe(202);

    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.getByRole('heading', { name: 'Runs of pushes to our API' }).waitFor();
    await page.locator(`tr[data-run="${fired.body.executionId}"] a`).click();
    await page.getByRole('heading', { name: `Run ${fired.body.executionId.slice(0, 8)}` }).waitFor();
    await page.locator('.run-status .badge', { hasText: 'running' }).waitFor({ timeout: 3000 });
    expect(await page.locator('.run-status').textContent()).toContain('live: refreshing every second');
    await screenshot(page, 'run-live');
    // No reload: the page refreshes itself until the run is final.
    await page.locator('.run-status .badge', { hasText: 'succeeded' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('.run-status').textContent()).not.toContain('live');
    const sent = page.locator('.timeline-step[data-step="forward"]');
    expect(await sent.locator('.badge').first().textContent()).toBe('succeeded');
    expect(await sent.locator('.attempt').count()).toBe(1);
    expect(await sent.locator('.request-line').first().textContent()).toBe(`POST ${receiver.url}/pushes`);
    expect(await sent.locator('.request-line').nth(1).textContent()).toBe('HTTP 200');
    expect(await page.locator('.timeline-step[data-step="summary"] .badge').first().textContent()).toBe(
      'succeeded',
    );
    await screenshot(page, 'run');

    expect(receiver.at('/pushes')).toHaveLength(1);
    expect(receiver.at('/pushes')[0].json).toEqual({ who: 'grace', commits: 3 });
    expect(receiver.at('/pushes')[0].headers['x-source']).toBe('hookflow');
  });

  it('shows an invalid expression on its own field, and saves nothing until it is fixed', async () => {
    const page = b.page;
    await page.getByRole('link', { name: 'Flows' }).click();
    await page.getByRole('link', { name: 'New flow' }).click();
    await page.getByLabel('Name (required)').fill('broken expression');
    await addStep(page, 'transform');
    await step(page, 1).getByLabel('Step id (required)').fill('shape');
    await step(page, 1).getByLabel('Expression (JSONata) (required)').fill('$count(event.body.items');
    await addStep(page, 'http');
    await step(page, 2).getByLabel('URL (required)').fill('http://127.0.0.1:9/{{ steps.shape. }}');
    await page.getByRole('button', { name: 'Create flow' }).click();

    const summary = page.getByRole('alert').filter({ hasText: 'problems' });
    await summary.waitFor();
    expect(await summary.getByRole('heading').textContent()).toBe('There are 2 problems');
    const expression = step(page, 1).getByLabel('Expression (JSONata) (required)');
    expect(await expression.getAttribute('aria-invalid')).toBe('true');
    const exprError = page.locator('ul.field-error[data-field="steps[0].expression"]');
    expect(await exprError.textContent()).toMatch(/\(at position \d+\)$/);
    expect(await exprError.getAttribute('id')).toBe(
      await expression.getAttribute('aria-describedby').then((d) => d?.split(' ').pop()),
    );
    const urlError = page.locator('ul.field-error[data-field="steps[1].url"]');
    expect(await urlError.textContent()).toMatch(/position/);
    expect(await step(page, 2).getByLabel('URL (required)').getAttribute('aria-invalid')).toBe('true');
    await page.evaluate('window.scrollTo(0, 0)');
    await screenshot(page, 'builder-errors', 'viewport');
    // A link in the summary takes the keyboard to the field.
    await summary.getByRole('link').first().click();
    expect(await expression.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await flowByName(t, 'broken expression')).toBeUndefined();

    await expression.fill('$count(event.body.items)');
    await step(page, 2).getByLabel('URL (required)').fill('http://127.0.0.1:9/{{ steps.shape }}');
    await page.getByRole('button', { name: 'Create flow' }).click();
    await page.getByText('Saved: version 1, disabled.').waitFor();
    expect(await page.locator('ul.field-error').count()).toBe(0);
    expect((await flowByName(t, 'broken expression')).steps[0].expression).toBe('$count(event.body.items)');
  });

  it('round-trips the JSON view and shows a diff between versions', async () => {
    const page = b.page;
    const before = await flowByName(t, 'broken expression');
    await page.getByRole('tab', { name: 'JSON' }).click();
    const json = page.getByLabel('Flow definition (JSON)');
    const shown = JSON.parse(await json.inputValue());
    const { id: _id, version: _v, createdAt: _c, updatedAt: _u, ...stored } = before;
    const { token: _t, url: _url, ...trigger } = stored.trigger;
    expect(shown).toEqual({ ...stored, trigger });

    await json.fill(
      JSON.stringify({ ...shown, name: 'fixed expression', description: 'counts items' }, null, 2),
    );
    await page.getByRole('button', { name: 'Apply JSON to the form' }).click();
    expect(await page.getByLabel('Name (required)').inputValue()).toBe('fixed expression');
    expect(await page.getByLabel('Description (optional)').inputValue()).toBe('counts items');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved: version 2, disabled.').waitFor();

    const diff = page.getByLabel('Differences between version 1 and version 2');
    await diff.locator('ins').first().waitFor();
    expect(await diff.locator('del').allTextContents()).toEqual(['-   "name": "broken expression",\n']);
    expect(await diff.locator('ins').allTextContents()).toEqual([
      '+   "description": "counts items",\n',
      '+   "name": "fixed expression",\n',
    ]);
    await screenshot(page, 'versions', page.getByRole('region', { name: 'Version history' }));
  });

  it('asks before leaving a form with unsaved changes', async () => {
    const page = b.page;
    await page.getByLabel('Description (optional)').fill('an edit not saved');
    await page.getByText('Unsaved changes').waitFor();
    const asked: string[] = [];
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await page.getByRole('link', { name: 'Flows', exact: true }).click();
    await waitFor(() => asked.length === 1, 5000);
    expect(asked).toEqual(['This flow has unsaved changes. Leave without saving?']);
    expect(new URL(page.url()).pathname).toMatch(/^\/flows\/[0-9a-f-]{36}$/);
    expect(await page.getByLabel('Description (optional)').inputValue()).toBe('an edit not saved');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('link', { name: 'Flows', exact: true }).click();
    await page.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
    expect((await flowByName(t, 'fixed expression')).description).toBe('counts items');
  });

  it('builds GitHub push → Slack from its template, with secrets picked by name, and runs it on a signed push', async () => {
    const page = b.page;
    receiver.script('/slack', [{ status: 200, body: 'ok' }]);
    expect((await t.api('PUT', '/api/v1/secrets/GITHUB_HOOK', { value: 'gh-hook-secret' })).status).toBe(200);
    expect(
      (await t.api('PUT', '/api/v1/secrets/SLACK_HOOK', { value: `${receiver.url}/slack` })).status,
    ).toBe(200);

    await page.getByRole('link', { name: 'Flows' }).click();
    await page.getByRole('link', { name: 'New flow' }).click();
    await page.getByLabel('Start from').selectOption('github-slack');
    // The new-flow form has a Name field before the template fills it: wait for the template's value.
    const name = page.getByLabel('Name (required)');
    await waitFor(async () => (await name.inputValue()) === 'GitHub push to Slack', 5000).catch(
      () => undefined,
    );
    expect(await name.inputValue()).toBe('GitHub push to Slack');
    expect(await page.getByLabel('Verify the sender').inputValue()).toBe('github');
    await page.getByLabel('Use a stored secret for signing secret').first().selectOption('GITHUB_HOOK');
    expect(await page.getByLabel('Signing secret (required)').inputValue()).toBe(
      '{{ $secrets.GITHUB_HOOK }}',
    );
    await step(page, 2).getByLabel('Use a stored secret for incoming webhook url').selectOption('SLACK_HOOK');
    await page.getByLabel('Enabled: the trigger starts runs').check();
    await page.getByRole('button', { name: 'Create flow' }).click();
    await page.getByText('Saved: version 1, enabled.').waitFor();
    const url = await page.getByLabel('Trigger URL (give it to the sending app)').inputValue();
    const token = url.split('/hooks/')[1];

    // Saved and unchanged: Try it dry-runs the stored flow itself (no scratch copy); secrets read ***.
    const scratchesBefore = (await t.api('GET', '/api/v1/audit?action=flow.created&limit=200')).body.items
      .length;
    await page.getByLabel('Sample event').selectOption('github-push');
    await page.getByRole('button', { name: 'Try it', exact: true }).click();
    const notify = page.locator('.dry-step[data-step="notify"]');
    await notify.waitFor();
    expect(await notify.locator('.request-line').textContent()).toBe('POST ***');
    expect(JSON.parse((await notify.getByLabel('notify request body').textContent())!)).toEqual({
      text: 'ada pushed 2 commits to octo-org/octo-repo',
    });
    expect((await t.api('GET', '/api/v1/audit?action=flow.created&limit=200')).body.items).toHaveLength(
      scratchesBefore,
    );
    expect(receiver.at('/slack')).toHaveLength(0);

    const push = JSON.stringify({
      ref: 'refs/heads/main',
      repository: { full_name: 'octo-org/octo-repo' },
      pusher: { name: 'ada' },
      commits: [{}, {}],
    });
    const fired = await fire(`${t.url}/hooks/${token}`, push, {
      'x-github-event': 'push',
      'x-github-delivery': 'delivery-1',
      'x-hub-signature-256': await githubSign('gh-hook-secret', push),
    });
    expect(fired.status).toBe(202);
    await page.goto(`${t.url}/runs/${fired.body.executionId}`);
    await page.locator('.run-status .badge', { hasText: 'succeeded' }).waitFor({ timeout: 15_000 });
    expect(receiver.at('/slack')).toHaveLength(1);
    expect(receiver.at('/slack')[0].json).toEqual({ text: 'ada pushed 2 commits to octo-org/octo-repo' });
  });

  it('labels every control and reached nothing but the app', async () => {
    await b.page.goto(`${t.url}/flows/new?template=github-slack`);
    await b.page.getByLabel('Name (required)').waitFor();
    expect(await unlabelledControls(b.page)).toEqual([]);
    expect(b.blocked).toEqual([]);
    expect(b.pageErrors).toEqual([]);
  });
});
