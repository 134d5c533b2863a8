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

// Operating from a browser: runs retried, replayed and cancelled; flows switched, re-keyed and
// deleted; secrets and API keys; and the same pages at phone width.

async function createFlow(t: TestApp, body: Record<string, unknown>): Promise<any> {
  const res = await t.api('POST', '/api/v1/flows', body);
  expect(res.status).toBe(201);
  return res.body;
}

async function execution(t: TestApp, id: string): Promise<any> {
  return (await t.api('GET', `/api/v1/executions/${id}`)).body;
}

describe('console: runs, flows, secrets and keys', () => {
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
    if (t) await cleanUp(t, ['orders to the warehouse', 'slow follow-up', 'phone check']);
    await b?.close();
    await receiver?.stop();
    await t?.close();
  });

  it('shows a failed step with its attempt, retries it from the console and watches it succeed', async () => {
    const page = b.page;
    // A 400 is not retried by the engine: the run fails at once; the second answer is a 200.
    receiver.script('/orders', [
      { status: 400, body: { error: 'order not ready' } },
      { status: 200, body: { stored: true } },
    ]);
    const flow = await createFlow(t, {
      name: 'orders to the warehouse',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'shape', type: 'transform', expression: "{ 'order': event.body.id }" },
        {
          id: 'store',
          type: 'http',
          method: 'POST',
          url: `${receiver.url}/orders`,
          body: '{{ steps.shape }}',
        },
      ],
    });
    const fired = await fire(flow.trigger.url.replace('http://localhost:3000', t.url), { id: 42 });
    expect(fired.status).toBe(202);
    const id: string = fired.body.executionId;
    await waitFor(async () => (await execution(t, id)).status === 'failed', 10_000);

    await page.getByRole('link', { name: 'Flows', exact: true }).click();
    const row = page.locator(`li[data-flow="${flow.id}"]`);
    await row.locator('.flow-stats .badge', { hasText: 'failed' }).waitFor();
    expect(await row.locator('.flow-stats dd').nth(2).textContent()).toBe('1');
    await row.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.getByLabel('Status').selectOption('failed');
    await page.waitForURL(`${t.url}/flows/${flow.id}/runs?status=failed`);
    await page.locator(`tr[data-run="${id}"] a`).click();
    await page.locator('.run-status .badge', { hasText: 'failed' }).waitFor();
    const store = page.locator('.timeline-step[data-step="store"]');
    expect(await store.locator('.attempt').count()).toBe(1);
    expect(await store.locator('.attempt .error-text').textContent()).toBe('Error: HTTP 400');
    expect(await store.locator('.request-line').first().textContent()).toBe(`POST ${receiver.url}/orders`);
    expect(await store.locator('.request-line').nth(1).textContent()).toBe('HTTP 400');
    expect(JSON.parse((await store.getByLabel('store attempt 1 response body').textContent())!)).toEqual({
      error: 'order not ready',
    });
    expect(await page.getByRole('button', { name: 'Cancel' }).isDisabled()).toBe(true);
    await screenshot(page, 'run-failed');

    await page.getByRole('button', { name: 'Retry' }).click();
    // The page refreshes by itself until the run is final.
    await page.locator('.run-status .badge', { hasText: 'succeeded' }).waitFor({ timeout: 15_000 });
    expect(await store.locator('.attempt').count()).toBe(2);
    expect(await store.locator('.attempt[data-attempt="2"] .error-text').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Retry' }).isDisabled()).toBe(true);
    expect(receiver.at('/orders').map((r) => r.json)).toEqual([{ order: 42 }, { order: 42 }]);
    const after = await execution(t, id);
    expect(after.status).toBe('succeeded');
    expect(after.steps[1].attempts.map((a: { n: number }) => a.n)).toEqual([1, 2]);

    // Replay: a new run of the same event, opened at once.
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/runs/') && !url.pathname.endsWith(id));
    await page.locator('.run-status .badge', { hasText: 'succeeded' }).waitFor({ timeout: 15_000 });
    expect(receiver.at('/orders')).toHaveLength(3);
  });

  it('cancels a waiting run after confirmation', async () => {
    const page = b.page;
    const flow = await createFlow(t, {
      name: 'slow follow-up',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'later', type: 'delay', ms: 600_000 },
        { id: 'ping', type: 'http', method: 'POST', url: `${receiver.url}/never` },
      ],
    });
    const fired = await fire(flow.trigger.url.replace('http://localhost:3000', t.url), {});
    const id: string = fired.body.executionId;
    await waitFor(async () => (await execution(t, id)).status === 'waiting', 10_000);
    await page.goto(`${t.url}/runs/${id}`);
    await page.locator('.run-status .badge', { hasText: 'waiting' }).waitFor();
    expect(await page.locator('.timeline-step[data-step="later"]').textContent()).toContain('Waiting until');

    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this run?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await execution(t, id)).status).toBe('waiting');

    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.getByRole('button', { name: 'Cancel run' }).click();
    await page.locator('.run-status .badge', { hasText: 'cancelled' }).waitFor();
    const after = await execution(t, id);
    expect(after.status).toBe('cancelled');
    expect(after.steps.map((s: { status: string }) => s.status)).toEqual(['cancelled', 'cancelled']);
    expect(receiver.at('/never')).toHaveLength(0);
  });

  it('lists flows with their last run and failures, switches one off and on, rotates its URL and deletes it', async () => {
    const page = b.page;
    const flow = (await t.api('GET', '/api/v1/flows')).body.items.find(
      (f: { name: string }) => f.name === 'orders to the warehouse',
    );
    await page.getByRole('link', { name: 'Flows', exact: true }).click();
    const row = page.locator(`li[data-flow="${flow.id}"]`);
    await row.locator('.flow-stats .badge').waitFor();
    expect(await row.locator('.flow-stats .badge').textContent()).toBe('succeeded');
    expect(await row.locator('.flow-stats dd').nth(2).textContent()).toBe('0');
    await screenshot(page, 'flows');

    const toggle = row.getByRole('switch', { name: 'Enabled: orders to the warehouse' });
    expect(await toggle.getAttribute('aria-checked')).toBe('true');
    await toggle.click();
    await page.getByText('orders to the warehouse is disabled.').waitFor();
    expect((await t.api('GET', `/api/v1/flows/${flow.id}`)).body.enabled).toBe(false);
    expect((await fire(`${t.url}/hooks/${flow.trigger.token}`, {})).status).toBe(404);
    await toggle.press('Space');
    await page.getByText('orders to the warehouse is enabled.').waitFor();
    expect((await t.api('GET', `/api/v1/flows/${flow.id}`)).body.enabled).toBe(true);

    await row.getByRole('button', { name: 'Rotate token' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate token' }).click();
    await page.getByText('has a new trigger URL').waitFor();
    const newUrl = await row.getByLabel('Trigger URL of orders to the warehouse').inputValue();
    const rotated = (await t.api('GET', `/api/v1/flows/${flow.id}`)).body;
    expect(newUrl).toBe(rotated.trigger.url);
    expect(rotated.trigger.token).not.toBe(flow.trigger.token);
    expect((await fire(`${t.url}/hooks/${flow.trigger.token}`, {})).status).toBe(404);

    await row.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete orders to the warehouse?' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await t.api('GET', `/api/v1/flows/${flow.id}`)).status).toBe(200);
    await row.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete flow' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await t.api('GET', `/api/v1/flows/${flow.id}`)).status).toBe(404);
  });

  it('sets and deletes a secret without ever showing its value', async () => {
    const page = b.page;
    const value = 'xoxb-super-secret-value-123';
    await page.getByRole('link', { name: 'Secrets' }).click();
    await page.getByLabel('Name', { exact: true }).fill('SLACK_BOT_TOKEN');
    await page.getByLabel('Value', { exact: true }).fill(value);
    await page.getByRole('button', { name: 'Save secret' }).click();
    await page.locator('tr[data-secret="SLACK_BOT_TOKEN"]').waitFor();
    expect(await page.getByLabel('Value', { exact: true }).inputValue()).toBe('');
    expect(await page.content()).not.toContain(value);
    const listed = (await t.api('GET', '/api/v1/secrets')).body.items.map((s: { name: string }) => s.name);
    expect(listed).toContain('SLACK_BOT_TOKEN');
    await screenshot(page, 'secrets');

    await page.getByRole('button', { name: 'Delete SLACK_BOT_TOKEN' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete secret' }).click();
    await page.locator('tr[data-secret="SLACK_BOT_TOKEN"]').waitFor({ state: 'detached' });
    const names = (await t.api('GET', '/api/v1/secrets?limit=200')).body.items.map(
      (s: { name: string }) => s.name,
    );
    expect(names).not.toContain('SLACK_BOT_TOKEN');
  });

  it('creates an API key shown once, which works until it is revoked', async () => {
    const page = b.page;
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByLabel('Name (shown as the actor in the audit log)').fill('console-e2e-deploy');
    await page.getByRole('button', { name: 'Create key' }).click();
    const plain = await page.getByLabel('API key console-e2e-deploy').inputValue();
    expect(plain).toMatch(/^hf_/);
    expect((await t.api('GET', '/api/v1/flows', undefined, plain)).status).toBe(200);
    await screenshot(page, 'keys');
    await page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await page.content()).not.toContain(plain);

    await page.getByRole('button', { name: 'Revoke console-e2e-deploy' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await page.getByText('Key console-e2e-deploy revoked').waitFor();
    expect((await t.api('GET', '/api/v1/flows', undefined, plain)).status).toBe(401);
    const key = (await t.api('GET', '/api/v1/api-keys?limit=200')).body.items.find(
      (k: { name: string }) => k.name === 'console-e2e-deploy',
    );
    expect(key.revokedAt).toEqual(expect.any(String));
    const audit = (await t.api('GET', '/api/v1/audit?action=apikey.revoked&limit=200')).body.items.filter(
      (a: { target: string }) => a.target === `apikey:${key.id}`,
    );
    expect(audit).toHaveLength(1);
    expect(audit[0].actor).toBe('bootstrap');
  });

  it('signs out, keeps the key for the tab only, and refuses a wrong key', async () => {
    const page = b.page;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This key is not valid (or was revoked).').waitFor();
    await signIn(page, t.url, '/secrets');
    await page.getByRole('heading', { name: 'Secrets' }).waitFor();
    // A new tab starts signed out: sessionStorage belongs to its tab.
    const other = await b.context.newPage();
    await other.goto(`${t.url}/flows`);
    await other.getByLabel('API key').waitFor();
    await other.close();
  });

  it('fits a phone screen and labels every control', async () => {
    const phone = await openConsole(t.url, { width: 390, height: 844 });
    try {
      await signIn(phone.page, t.url);
      const flow = await createFlow(t, {
        name: 'phone check',
        enabled: false,
        trigger: { type: 'schedule', cron: '30 8 * * 1-5', timezone: 'Europe/Berlin' },
        steps: [{ id: 'ping', type: 'http', method: 'POST', url: `${receiver.url}/ping` }],
      });
      const run = (await t.api('POST', `/api/v1/flows/${flow.id}/run`, { payload: {} })).body.executionId;
      await waitFor(async () => (await execution(t, run)).status === 'succeeded', 10_000);
      for (const path of [
        '/flows',
        `/flows/${flow.id}`,
        `/flows/${flow.id}/runs`,
        `/runs/${run}`,
        '/secrets',
        '/keys',
      ]) {
        await phone.page.goto(t.url + path);
        await phone.page.locator('main h1').waitFor();
        await phone.page.waitForLoadState('networkidle');
        expect({ path, fits: await fitsWidth(phone.page) }).toEqual({ path, fits: true });
        expect({ path, unlabelled: await unlabelledControls(phone.page) }).toEqual({ path, unlabelled: [] });
      }
      // The cron preview lists the next fires in the flow's zone.
      await phone.page.goto(`${t.url}/flows/${flow.id}`);
      await phone.page.locator('.fires li').first().waitFor();
      expect(await phone.page.locator('.fires li').count()).toBe(5);
      expect(await phone.page.locator('.cron-preview .hint').textContent()).toBe(
        'Next 5 fires in Europe/Berlin:',
      );
      await phone.page.evaluate('window.scrollTo(0, 0)');
      await screenshot(phone.page, 'phone-builder', 'viewport');
      expect(phone.blocked).toEqual([]);
      expect(phone.pageErrors).toEqual([]);
    } finally {
      await phone.close();
    }
  });

  it('reached nothing but the app, and the page logged no errors', () => {
    expect(b.blocked).toEqual([]);
    expect(b.pageErrors).toEqual([]);
  });
});
