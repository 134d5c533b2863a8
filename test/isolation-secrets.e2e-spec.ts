import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fire, TEST_API_KEY } from './support/app';
import { EngineProcess, freePort } from './support/engine-process';
import { waitFor } from './support/wait-for';

/** These tests run dist/main.js (npm test builds it first); a missing build is a clear failure, not a hang. */
function requireBuild(): void {
  if (!existsSync(join(__dirname, '..', 'dist', 'main.js')))
    throw new Error('dist/main.js is missing: run `npm run build` first');
}

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A receiver that talks back the way real APIs do: /echo answers with the headers and body it got,
 * /boom answers 500 quoting `leak` (a secret) in its error, anything else 200.
 */
async function startEcho(leak: string): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '/').split('?')[0];
      seen.push({ path, headers: req.headers, body });
      const json = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (path === '/echo')
        json(200, { authorization: req.headers.authorization, apiKey: req.headers['x-api-key'], body });
      else if (path === '/boom') json(500, { error: `key ${leak} was refused` });
      else json(200, { ok: true });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TEST_API_KEY}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** The newest execution of a flow once it reached `status`. */
async function finished(base: string, flowId: string, status: string): Promise<any> {
  const item = await waitFor(async () => {
    const list = await call(base, 'GET', `/api/v1/executions?flowId=${flowId}&status=${status}`);
    return list.body.items[0];
  }, 30_000);
  return (await call(base, 'GET', `/api/v1/executions/${item.id}`)).body;
}

describe('isolation: no secret value at rest in PostgreSQL or in a log line', () => {
  const tag = randomBytes(4).toString('hex');
  const S = {
    HDR: `hdr-${tag}-a1`,
    AUTH: `auth-${tag}-b2`,
    BODY: `body-${tag}-c3`,
    XFORM: `xform-${tag}-d4`,
    EMIT: `emit-${tag}-e5`,
    ERR: `err-${tag}-f6`,
    CRED: `cred-${tag}-g7`,
    FAIL: `fail-${tag}-h8`,
    QUERY: `query-${tag}-i9`,
  };
  let engine: EngineProcess;
  let echo: Awaited<ReturnType<typeof startEcho>>;

  beforeAll(async () => {
    requireBuild();
    echo = await startEcho(S.ERR);
    // Every line the process writes, at the chattiest level, worker thread included.
    engine = await new EngineProcess({ PORT: freePort(), MODE: 'all', LOG_LEVEL: 'trace' }).start();
  });
  afterAll(async () => {
    await engine?.stop();
    await echo?.close();
  });

  it('masks outputs, errors, attempts, echoed answers, URL credentials and emitted events before writing them', async () => {
    for (const [name, value] of Object.entries(S))
      expect((await call(engine.url, 'PUT', `/api/v1/secrets/${name}`, { value })).status).toBe(200);
    const listener = await call(engine.url, 'POST', '/api/v1/flows', {
      name: 'secrets-listener',
      trigger: { type: 'event', event: 'secrets.emitted' },
      steps: [{ id: 'copy', type: 'transform', expression: 'event.body' }],
    });
    expect(listener.status).toBe(201);
    const port = new URL(echo.url).port;
    const flow = await call(engine.url, 'POST', '/api/v1/flows', {
      name: 'secrets-everywhere',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'http',
          method: 'POST',
          url: `${echo.url}/echo`,
          headers: { 'x-api-key': '{{ $secrets.HDR }}', authorization: 'Bearer {{ $secrets.AUTH }}' },
          body: { k: '{{ $secrets.BODY }}' },
        },
        { id: 'xf', type: 'transform', expression: "{ 'v': $secrets.XFORM, 'n': 1 }" },
        // Same job as xf: it sees the real output, not the stored ***.
        { id: 'same', type: 'transform', expression: "{ 'real': steps.xf.v = $secrets.XFORM }" },
        { id: 'em', type: 'emit', event: 'secrets.emitted', data: { v: '{{ $secrets.EMIT }}' } },
        {
          id: 'boom',
          type: 'http',
          method: 'POST',
          url: `${echo.url}/boom`,
          retry: { attempts: 1 },
          continueOnError: true,
        },
        {
          id: 'cred',
          type: 'http',
          method: 'GET',
          url: `http://alice:{{ $secrets.CRED }}@127.0.0.1:${port}/cred`,
        },
        { id: 'fail', type: 'transform', expression: "$error('cannot go on with ' & $secrets.FAIL)" },
      ],
    });
    expect(flow.status).toBe(201);
    expect((await fire(`${engine.url}/hooks/${flow.body.trigger.token}`, { n: 1 })).status).toBe(202);

    const run = await finished(engine.url, flow.body.id, 'failed');
    const child = await finished(engine.url, listener.body.id, 'succeeded');
    // The receiver got the real values.
    const sent = echo.seen.find((s) => s.path === '/echo');
    expect(sent?.headers['x-api-key']).toBe(S.HDR);
    expect(sent?.headers.authorization).toBe(`Bearer ${S.AUTH}`);
    expect(sent?.body).toBe(JSON.stringify({ k: S.BODY }));
    expect(echo.seen.some((s) => s.path === '/cred')).toBe(true);
    // What was stored reads *** (the API masks on the way out too; pg_dump below reads the rows).
    const steps = Object.fromEntries(run.steps.map((s: any) => [s.id, s]));
    expect(steps.send.attempts[0].response.body).toEqual({
      authorization: 'Bearer ***',
      apiKey: '***',
      body: '{"k":"***"}',
    });
    expect(steps.xf.output).toEqual({ v: '***', n: 1 });
    expect(steps.same.output).toEqual({ real: true });
    expect(steps.boom).toMatchObject({ status: 'failed', error: 'HTTP 500' });
    expect(steps.cred.attempts[0].request.url).toBe(`http://***@127.0.0.1:${port}/cred`);
    expect(run.error).toContain('cannot go on with ***');
    expect(child.event.body).toEqual({ v: '***' });

    // The whole database as a backup would hold it.
    const dump = execFileSync('pg_dump', ['--no-owner', process.env.DATABASE_URL ?? ''], {
      maxBuffer: 256 * 1024 * 1024,
    }).toString('utf8');
    expect(dump).toContain('COPY public.executions');
    expect(dump).toContain('cannot go on with ***');
    for (const [name, value] of Object.entries(S))
      expect({ name, inDump: dump.includes(value) }).toEqual({ name, inDump: false });
    // No URL credentials in the execution rows either (the flow definition, holding only a template, has them).
    const rows = dump.slice(dump.indexOf('COPY public.executions'));
    expect(rows.slice(0, rows.indexOf('\n\\.\n'))).not.toContain('alice:');
  });

  it('masks every log line, even text nobody masked on purpose (a request URL quoting a secret)', async () => {
    // A client puts a value in a query string; the request log line quotes the URL.
    expect((await call(engine.url, 'GET', `/api/v1/secrets?cursor=${S.QUERY}`)).status).toBe(400);
    await engine.stop();
    const log = engine.output;
    // The log was captured, the line is there, masked (a short message on failure, not the whole log).
    expect({ requestLine: log.includes('cursor=***'), attempts: log.includes('step attempt') }).toEqual({
      requestLine: true,
      attempts: true,
    });
    for (const [name, value] of Object.entries(S))
      expect({ name, inLog: log.includes(value) }).toEqual({ name, inLog: false });
  });
});

describe('isolation: a secret set is what the next step uses, in another process', () => {
  let api: EngineProcess;
  let worker: EngineProcess;
  let echo: Awaited<ReturnType<typeof startEcho>>;

  beforeAll(async () => {
    requireBuild();
    echo = await startEcho('unused');
    api = await new EngineProcess({ MODE: 'api', PORT: freePort() }).start();
    worker = await new EngineProcess({ MODE: 'worker', PORT: '0', METRICS_PORT: freePort() }).start();
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
    await echo?.close();
  });

  it('uses the value a PUT just answered for, every round, and not a deleted one', async () => {
    const tag = randomBytes(4).toString('hex');
    expect((await call(api.url, 'PUT', '/api/v1/secrets/ROTATING', { value: `rot-${tag}-0` })).status).toBe(
      200,
    );
    const flow = await call(api.url, 'POST', '/api/v1/flows', {
      name: 'rotating-secret',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'http',
          method: 'POST',
          url: `${echo.url}/rot`,
          headers: { 'x-v': '{{ $secrets.ROTATING }}', 'x-round': '{{ event.body.round }}' },
          retry: { attempts: 1 },
        },
      ],
    });
    expect(flow.status).toBe(201);
    const hook = `${api.url}/hooks/${flow.body.trigger.token}`;
    const sentIn = (round: number): Promise<Seen> =>
      waitFor(() => echo.seen.find((s) => s.headers['x-round'] === String(round)), 15_000);

    // Warm the worker's copy, so a cache trusted by the clock would answer the old value below.
    expect((await fire(hook, { round: 0 })).status).toBe(202);
    await sentIn(0);
    const wrong: string[] = [];
    for (let round = 1; round <= 20; round++) {
      const value = `rot-${tag}-${round}`;
      expect((await call(api.url, 'PUT', '/api/v1/secrets/ROTATING', { value })).status).toBe(200);
      // At once (well within 50 ms of the PUT's answer): the step starts after the PUT answered.
      expect((await fire(hook, { round })).status).toBe(202);
      const got = (await sentIn(round)).headers['x-v'];
      if (got !== value) wrong.push(`round ${round}: sent ${String(got)}, expected ${value}`);
    }
    expect(wrong).toEqual([]);

    expect((await call(api.url, 'DELETE', '/api/v1/secrets/ROTATING')).status).toBe(204);
    expect((await fire(hook, { round: 99 })).status).toBe(202);
    // Deleted: the step fails (unset secret) or sends without it — never the last value.
    await waitFor(async () => {
      const list = await call(api.url, 'GET', `/api/v1/executions?flowId=${flow.body.id}&limit=200`);
      return (
        list.body.items.length === 22 &&
        list.body.items.every((e: any) => ['succeeded', 'failed'].includes(e.status))
      );
    }, 15_000);
    const last = echo.seen.find((s) => s.headers['x-round'] === '99');
    expect(last?.headers['x-v']).not.toBe(`rot-${tag}-20`);
  });
});
