import Fastify, { FastifyInstance } from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CONSOLE_ROUTES, registerConsole } from 'src/console/console-static';

describe('console static files', () => {
  let dir: string;
  let app: FastifyInstance;
  const script = `console.log(${JSON.stringify('x'.repeat(4000))});`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hf-console-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>hookflow console</title>');
    writeFileSync(join(dir, 'assets', 'index-abc.js'), script);
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    app = Fastify();
    registerConsole(app, dir);
    app.get('/api/v1/flows', async () => ({ items: [] }));
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    '/',
    '/flows',
    '/flows/new',
    '/flows/abc',
    '/flows/abc/runs',
    '/runs/abc',
    '/secrets',
    '/keys',
    '/destinations',
  ])('answers index.html at the client route %s, with a CSP that allows this origin only', async (url) => {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('hookflow console');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(res.headers['x-frame-options']).toBe('DENY');
  });

  it('lists every client route it serves', () => {
    expect([...CONSOLE_ROUTES]).toEqual([
      '/',
      '/flows',
      '/flows/new',
      '/flows/:id',
      '/flows/:id/runs',
      '/runs/:id',
      '/secrets',
      '/keys',
      '/destinations',
    ]);
  });

  it('serves hashed assets immutable, gzipped when asked, and 304 on a matching etag', async () => {
    const plain = await app.inject({ method: 'GET', url: '/assets/index-abc.js' });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.body).toBe(script);
    const gz = await app.inject({
      method: 'GET',
      url: '/assets/index-abc.js',
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString()).toBe(script);
    const again = await app.inject({
      method: 'GET',
      url: '/assets/index-abc.js',
      headers: { 'if-none-match': String(plain.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
  });

  it('answers 404 for unknown assets, other paths and deeper client-looking paths', async () => {
    for (const url of ['/assets/nope.js', '/assets/../index.html', '/nope', '/flows/a/b/c', '/runs']) {
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(404);
    }
  });

  it('leaves other routes alone', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/flows' });
    expect(res.json()).toEqual({ items: [] });
  });

  it('answers a line pointing at npm run build when the console is not built', async () => {
    const bare = Fastify();
    registerConsole(bare, null);
    await bare.ready();
    for (const url of ['/', '/flows/abc']) {
      const res = await bare.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(res.body).toContain('npm run build');
    }
    expect((await bare.inject({ method: 'GET', url: '/assets/index-abc.js' })).statusCode).toBe(404);
    await bare.close();
  });
});
