import Redis from 'ioredis';
import { bootApp, fire, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { waitFor } from './support/wait-for';

const TIMEOUT_MS = 20_000;

describe('inbound sync answers, API and worker in different processes', () => {
  let api: TestApp;
  let worker: TestApp;
  let rx: Receiver;
  let listener: Redis;
  const relayed: string[] = [];

  beforeAll(async () => {
    rx = await new Receiver().start();
    rx.script('/ok', [{ status: 200, body: { ok: true, order: 17 } }]);
    rx.script('/bad', [{ status: 400, body: { error: 'no' } }]);
    rx.script('/slow', [{ status: 200, body: { ok: true }, delayMs: 2000 }]);
    // MODE=api runs no step; the MODE=all instance is the worker (and runs the steps of both).
    api = await bootApp({ MODE: 'api' });
    worker = await bootApp({ MODE: 'all' });
    listener = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
    await listener.subscribe(`${process.env.QUEUE_PREFIX ?? 'hookflow'}:execution-finished`);
    listener.on('message', (_channel: string, text: string) => relayed.push(text));
  });
  afterAll(async () => {
    listener.disconnect();
    await api.close();
    await worker.close();
    await rx.stop();
  });

  async function createFlow(
    steps: unknown[],
    response: Record<string, unknown> = { mode: 'sync', timeoutMs: TIMEOUT_MS },
  ): Promise<string> {
    return (await createFlowWithId(steps, response)).token;
  }

  async function createFlowWithId(
    steps: unknown[],
    response: Record<string, unknown>,
  ): Promise<{ id: string; token: string }> {
    const res = await api.api('POST', '/api/v1/flows', {
      name: 'sync',
      trigger: { type: 'webhook', response },
      steps,
    });
    expect(res.status).toBe(201);
    return { id: res.body.id, token: res.body.trigger.token };
  }

  const call = (path: string) => ({
    id: 'call',
    type: 'http',
    method: 'POST',
    url: `${rx.url}${path}`,
    body: '{{ event.body }}',
    retry: { attempts: 1 },
  });

  it('answers 200 with the output of the last step, or of response.step', async () => {
    const steps = [
      { id: 'shape', type: 'transform', expression: "{ 'who': event.body.who }" },
      call('/ok'),
      {
        id: 'answer',
        type: 'transform',
        expression: "{ 'order': steps.call.body.order, 'who': steps.shape.who }",
      },
    ];
    const last = await createFlow(steps);
    const started = Date.now();
    const res = await fire(`${api.url}/hooks/${last}`, { who: 'Ada' });
    expect(res).toEqual({ status: 200, body: { order: 17, who: 'Ada' } });
    // Told by the worker when the run ended, not found out at the timeout.
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS / 2);

    const chosen = await createFlow(steps, { mode: 'sync', timeoutMs: TIMEOUT_MS, step: 'call' });
    const picked = await fire(`${api.url}/hooks/${chosen}`, { who: 'Grace' });
    expect(picked.status).toBe(200);
    expect(picked.body).toMatchObject({ status: 200, body: { ok: true, order: 17 } });
  });

  it('answers 502 with the error as soon as the run fails, not at the timeout', async () => {
    const token = await createFlow([call('/bad')]);
    const started = Date.now();
    const res = await fire(`${api.url}/hooks/${token}`, { who: 'Ada' });
    const waited = Date.now() - started;
    expect(res.status).toBe(502);
    expect(res.body).toEqual({
      statusCode: 502,
      error: 'Bad Gateway',
      message: 'step call failed: HTTP 400',
      executionId: expect.any(String),
    });
    expect(waited).toBeLessThan(TIMEOUT_MS / 2);
    const ex = await api.api('GET', `/api/v1/executions/${res.body.executionId}`);
    expect(ex.body.status).toBe('failed');
  });

  it('answers 202 as in async when time runs out, and the run still finishes', async () => {
    const token = await createFlow([call('/slow')], { mode: 'sync', timeoutMs: 300 });
    const res = await fire(`${api.url}/hooks/${token}`, { who: 'Ada' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      executionId: expect.any(String),
      status: expect.stringMatching(/^(queued|running)$/),
    });
    await waitFor(async () => {
      const ex = await api.api('GET', `/api/v1/executions/${res.body.executionId}`);
      return ex.body.status === 'succeeded';
    }, 10_000);
  });

  it('relays only what a waiter in another process needs', async () => {
    const sync = await createFlowWithId([call('/ok')], { mode: 'sync', timeoutMs: TIMEOUT_MS });
    const asyncToken = await createFlow([call('/ok')], { mode: 'async' });

    // Async flow: nobody waits, nothing is published.
    const quiet = await fire(`${api.url}/hooks/${asyncToken}`, {});
    expect(quiet.status).toBe(202);
    // Sync flow answered by the process that ran it: the waiter is local, nothing is published.
    expect((await fire(`${worker.url}/hooks/${sync.token}`, {})).status).toBe(200);
    // Sync flow accepted by the API process: exactly its news crosses over.
    expect((await fire(`${api.url}/hooks/${sync.token}`, {})).status).toBe(200);
    await waitFor(async () => {
      const ex = await api.api('GET', `/api/v1/executions/${quiet.body.executionId}`);
      return ex.body.status === 'succeeded';
    });
    const [remote, local] = (await api.api('GET', `/api/v1/executions?flowId=${sync.id}`)).body.items;
    const ids = () => relayed.map((m) => JSON.parse(m).id as string);
    await waitFor(() => ids().includes(remote.id));
    expect(relayed.map((m) => JSON.parse(m))).toContainEqual({ id: remote.id, status: 'succeeded' });
    expect(ids()).not.toContain(local.id);
    expect(ids()).not.toContain(quiet.body.executionId);
  });
});
