import { bootApp, TestApp } from './support/app';
import { ensureConsoleBuilt } from './support/console-browser';

// The real app serves the console at / next to everything else, which answers as it did before.

describe('console served by the app', () => {
  let t: TestApp;

  beforeAll(async () => {
    ensureConsoleBuilt();
    t = await bootApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('answers the console page at / and at its client routes, and its assets', async () => {
    for (const path of ['/', '/flows', '/flows/new', '/secrets']) {
      const res = await fetch(t.url + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      const html = await res.text();
      expect(html).toContain('<div id="app"></div>');
      // Every script and stylesheet is one of ours, from this origin.
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      expect(assets.length).toBeGreaterThanOrEqual(3);
      for (const a of assets) {
        expect(a.startsWith('/')).toBe(true);
        expect((await fetch(t.url + a)).status).toBe(200);
      }
    }
  });

  it('leaves the API, trigger URLs, docs, health, metrics and unknown paths as they were', async () => {
    expect((await fetch(`${t.url}/api/v1/flows`)).status).toBe(401);
    expect((await t.api('GET', '/api/v1/flows')).status).toBe(200);
    const hook = await fetch(`${t.url}/hooks/unknown-token-unknown-token`, { method: 'POST', body: '{}' });
    expect(hook.status).toBe(404);
    expect((await fetch(`${t.url}/docs-json`)).status).toBe(200);
    expect((await fetch(`${t.url}/docs`)).headers.get('content-type')).toContain('text/html');
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    expect(await (await fetch(`${t.url}/metrics`)).text()).toContain('hookflow_webhooks_total');
    const unknown = await fetch(`${t.url}/no/such/page`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect((await fetch(`${t.url}/assets/no-such-file.js`)).status).toBe(404);
  });
});
