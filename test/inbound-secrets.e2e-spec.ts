import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { bootApp, fire, TEST_API_KEY, TestApp } from './support/app';
import { EngineProcess, freePort } from './support/engine-process';
import { Receiver } from './support/receiver';

const root = join(__dirname, '..');

/** The engine process runs dist/: build it when src/ is newer (npm test builds first anyway). */
function ensureBuilt(): void {
  const newest = (dir: string): number =>
    readdirSync(dir).reduce((max, name) => {
      const path = join(dir, name);
      const s = statSync(path);
      return Math.max(max, s.isDirectory() ? newest(path) : s.mtimeMs);
    }, 0);
  let built = 0;
  try {
    built = statSync(join(root, 'dist', 'main.js')).mtimeMs;
  } catch {
    // not built yet
  }
  if (built >= newest(join(root, 'src'))) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

describe('secrets REST', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('stores a value encrypted and answers names and dates only', async () => {
    const value = 'rest-secret-value-\u00e9';
    const set = await t.api('PUT', '/api/v1/secrets/REST_ONE', { value });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({
      name: 'REST_ONE',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });

    const again = await t.api('PUT', '/api/v1/secrets/REST_ONE', { value: `${value}-2` });
    expect(again.status).toBe(200);
    expect(again.body.createdAt).toBe(set.body.createdAt);
    expect(Date.parse(again.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(set.body.updatedAt));

    const list = await t.api('GET', '/api/v1/secrets');
    expect(list.status).toBe(200);
    expect(list.body.nextCursor).toBeNull();
    expect(list.body.items).toContainEqual({
      name: 'REST_ONE',
      createdAt: set.body.createdAt,
      updatedAt: again.body.updatedAt,
    });
    expect(JSON.stringify(list.body)).not.toContain(value);

    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    try {
      const rows = await db.query<{ value: Buffer }>(`SELECT value FROM secrets WHERE name = 'REST_ONE'`);
      expect(rows.rows[0].value.includes(Buffer.from('rest-secret-value'))).toBe(false);
    } finally {
      await db.end();
    }

    expect(await t.api('DELETE', '/api/v1/secrets/REST_ONE')).toMatchObject({ status: 204 });
    expect(await t.api('DELETE', '/api/v1/secrets/REST_ONE')).toMatchObject({ status: 404 });
    const after = await t.api('GET', '/api/v1/secrets?limit=200');
    expect(after.body.items.map((s: { name: string }) => s.name)).not.toContain('REST_ONE');
  });

  it('pages with limit and cursor', async () => {
    for (const n of ['PAGE_A', 'PAGE_B', 'PAGE_C'])
      await t.api('PUT', `/api/v1/secrets/${n}`, { value: `v-${n}` });
    const names: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await t.api('GET', `/api/v1/secrets?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(1);
      names.push(...res.body.items.map((s: { name: string }) => s.name));
      cursor = res.body.nextCursor;
    } while (cursor && ++pages < 100);
    expect(names.filter((n) => n.startsWith('PAGE_'))).toEqual(['PAGE_A', 'PAGE_B', 'PAGE_C']);
    expect(new Set(names).size).toBe(names.length);
    expect((await t.api('GET', '/api/v1/secrets?limit=0')).status).toBe(400);
    expect((await t.api('GET', '/api/v1/secrets?limit=201')).status).toBe(400);
    expect((await t.api('GET', '/api/v1/secrets?cursor=garbage')).status).toBe(400);
  });

  it('refuses bad names, bad values, unknown fields and callers without a key', async () => {
    for (const name of ['1ABC', 'with-dash', 'sp%20ace', '_%C3%A9']) {
      const res = await t.api('PUT', `/api/v1/secrets/${name}`, { value: 'v' });
      expect({ name, status: res.status }).toEqual({ name, status: 400 });
      expect(res.body.message.join(' ')).toMatch(/^name /);
    }
    // Past 100 characters Fastify refuses the path parameter itself (414) before validation would (400).
    expect([400, 414]).toContain(
      (await t.api('PUT', `/api/v1/secrets/${'x'.repeat(101)}`, { value: 'v' })).status,
    );
    expect((await t.api('PUT', `/api/v1/secrets/${'x'.repeat(100)}`, { value: 'v' })).status).toBe(200);
    for (const body of [
      {},
      { value: '' },
      { value: 42 },
      { value: 'v', extra: 1 },
      { value: 'é'.repeat(32 * 1024 + 1) },
    ]) {
      const res = await t.api('PUT', '/api/v1/secrets/BAD_VALUE', body);
      expect(res.status).toBe(400);
    }
    expect((await t.api('PUT', '/api/v1/secrets/BIG_VALUE', { value: 'é'.repeat(32 * 1024) })).status).toBe(
      200,
    );
    expect((await t.api('PUT', '/api/v1/secrets/NO_KEY', { value: 'v' }, 'wrong')).status).toBe(401);
    expect((await t.api('GET', '/api/v1/secrets', undefined, '')).status).toBe(401);
    expect((await t.api('DELETE', '/api/v1/secrets/BIG_VALUE', undefined, 'wrong')).status).toBe(401);
  });
});

describe('a secret value appears nowhere but in the outbound request', () => {
  const INBOUND = 'inbound-token-5f1c9a7e';
  const OUTBOUND = 'outbound-key-8d2b6e4c';
  let engine: EngineProcess;
  let rx: Receiver;

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${engine.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TEST_API_KEY}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  beforeAll(async () => {
    ensureBuilt();
    rx = await new Receiver().start();
    // The receiver echoes the key back, as some APIs do: the recorded answer must not show it.
    rx.script('/sink', [{ status: 200, body: { received: OUTBOUND } }]);
    rx.script('/refuse', [{ status: 400, body: { bad: OUTBOUND } }]);
    // Every log line the process writes, at the chattiest level.
    engine = await new EngineProcess({ PORT: freePort(), MODE: 'all', LOG_LEVEL: 'trace' }).start();
  });
  afterAll(async () => {
    await engine.stop();
    await rx.stop();
  });

  it('is sent to the receiver, masked in answers, records and logs', async () => {
    expect((await api('PUT', '/api/v1/secrets/INBOUND_TOKEN', { value: INBOUND })).status).toBe(200);
    expect((await api('PUT', '/api/v1/secrets/OUTBOUND_KEY', { value: OUTBOUND })).status).toBe(200);
    const flow = await api('POST', '/api/v1/flows', {
      name: 'secrets',
      trigger: {
        type: 'webhook',
        verify: { scheme: 'token', header: 'X-Hook-Token', value: '{{ $secrets.INBOUND_TOKEN }}' },
        idempotencyKey: "event.body.id & '-' & $secrets.OUTBOUND_KEY",
        response: { mode: 'sync', timeoutMs: 15_000 },
      },
      filter: '$secrets.OUTBOUND_KEY != event.body.id',
      steps: [
        {
          id: 'send',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/sink?key={{ $secrets.OUTBOUND_KEY }}`,
          headers: { authorization: 'Bearer {{ $secrets.OUTBOUND_KEY }}' },
          body: { key: '{{ $secrets.OUTBOUND_KEY }}', id: '{{ event.body.id }}' },
        },
        {
          id: 'answer',
          type: 'transform',
          expression: "{ 'sent': $secrets.OUTBOUND_KEY, 'status': steps.send.status }",
        },
      ],
    });
    expect(flow.status).toBe(201);
    const hook = `${engine.url}/hooks/${flow.body.trigger.token}`;

    // A refused request (logged as a warning) and one carrying the token in its body.
    expect((await fire(hook, { id: 'x' }, { 'x-hook-token': 'wrong' })).status).toBe(401);
    const res = await fire(hook, { id: 'evt-1', echo: INBOUND }, { 'x-hook-token': INBOUND });
    expect(res).toEqual({ status: 200, body: { sent: '***', status: 200 } });

    const [sent] = rx.at('/sink');
    expect(sent.headers.authorization).toBe(`Bearer ${OUTBOUND}`);
    expect(sent.url).toBe(`/sink?key=${OUTBOUND}`);
    expect(sent.json).toEqual({ key: OUTBOUND, id: 'evt-1' });

    const list = await api('GET', `/api/v1/executions?flowId=${flow.body.id}`);
    const record = await api('GET', `/api/v1/executions/${list.body.items[0].id}`);
    const attempt = record.body.steps[0].attempts[0];
    expect(attempt.request.headers.authorization).toBe('Bearer ***');
    expect(attempt.request.url).toBe(`${rx.url}/sink?key=***`);
    expect(attempt.request.body).toEqual({ key: '***', id: 'evt-1' });
    expect(attempt.response.body).toEqual({ received: '***' });
    expect(record.body.event.headers['x-hook-token']).toBe('***');
    expect(record.body.event.body.echo).toBe('***');
    expect(record.body.steps[1].output).toEqual({ sent: '***', status: 200 });

    // A failing step: its error and its 502 answer are masked too.
    const failing = await api('POST', '/api/v1/flows', {
      name: 'secrets-fail',
      trigger: { type: 'webhook', response: { mode: 'sync', timeoutMs: 15_000 } },
      steps: [
        {
          id: 'refuse',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/refuse?key={{ $secrets.OUTBOUND_KEY }}`,
          body: { key: '{{ $secrets.OUTBOUND_KEY }}' },
        },
      ],
    });
    const failed = await fire(`${engine.url}/hooks/${failing.body.trigger.token}`, {});
    expect(failed.status).toBe(502);
    const failedRecord = await api('GET', `/api/v1/executions/${failed.body.executionId}`);
    expect(failedRecord.body.steps[0].attempts[0].response.body).toEqual({ bad: '***' });
    expect(rx.at('/refuse')[0].json).toEqual({ key: OUTBOUND });

    const secrets = await api('GET', '/api/v1/secrets');
    expect(secrets.body.items.map((s: { name: string }) => s.name)).toEqual(
      expect.arrayContaining(['INBOUND_TOKEN', 'OUTBOUND_KEY']),
    );

    await engine.stop();
    const log = engine.output;
    // The log was captured (the refusal is in it) ...
    expect(log).toContain('webhook verification failed');
    // ... and none of it, nor any answer or record, carries a value.
    for (const text of [
      log,
      JSON.stringify(res.body),
      JSON.stringify(record.body),
      JSON.stringify(failed.body),
      JSON.stringify(failedRecord.body),
      JSON.stringify(secrets.body),
    ]) {
      expect(text).not.toContain(INBOUND);
      expect(text).not.toContain(OUTBOUND);
    }
  });
});
