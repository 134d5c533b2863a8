import { bootApp, fire, TestApp } from '../support/app';
import { EngineProcess, freePort } from '../support/engine-process';
import { Receiver } from '../support/receiver';
import { waitFor } from '../support/wait-for';

/** SIGTERM, then wait for the process to exit; answers its exit code and when it exited. */
async function sigterm(engine: EngineProcess): Promise<{ code: number | null; exitedAt: number }> {
  await engine.stop();
  const proc = (engine as unknown as { proc: { exitCode: number | null } }).proc;
  return { code: proc.exitCode, exitedAt: Date.now() };
}

describe('operate: graceful shutdown (SIGTERM) loses nothing', () => {
  let api: TestApp;
  let rx: Receiver;
  const spawned: EngineProcess[] = [];

  function engine(env: Record<string, string>): EngineProcess {
    const e = new EngineProcess({ LOG_LEVEL: 'info', JOB_LOCK_MS: '2000', ...env });
    spawned.push(e);
    return e;
  }

  beforeAll(async () => {
    rx = await new Receiver().start();
    api = await bootApp({ MODE: 'api' });
  });
  afterAll(async () => {
    for (const e of spawned) await e.kill9();
    await api.close();
    await rx.stop();
  });

  async function hookFor(path: string, extra: Record<string, unknown> = {}): Promise<string> {
    const created = await api.api('POST', '/api/v1/flows', {
      name: `shutdown ${path}`,
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'deliver',
          type: 'http',
          method: 'POST',
          url: `${rx.url}${path}`,
          body: { n: '{{ event.body.n }}' },
          timeoutMs: 120_000,
          ...extra,
        },
      ],
    });
    expect(created.status).toBe(201);
    return created.body.trigger.token;
  }

  async function execution(id: string): Promise<any> {
    return (await api.api('GET', `/api/v1/executions/${id}`)).body;
  }

  async function settled(id: string, timeoutMs = 30_000): Promise<any> {
    return waitFor(
      async () => {
        const ex = await execution(id);
        return ['succeeded', 'failed', 'cancelled'].includes(ex.status) ? ex : null;
      },
      timeoutMs,
      100,
    );
  }

  it('lets the running attempt finish and commit, takes no new job, exits 0; the next worker runs the rest', async () => {
    rx.script('/slow', [{ status: 200, delayMs: 3000, body: { slow: true } }]);
    const token = await hookFor('/slow');
    const worker = await engine({ MODE: 'worker', PORT: '0', SHUTDOWN_GRACE_MS: '20000' }).start();

    const first = await fire(`${api.url}/hooks/${token}`, { n: 1 });
    expect(first.status).toBe(202);
    await waitFor(() => rx.at('/slow').length === 1, 10_000);

    const stopped = sigterm(worker);
    await waitFor(() => /intake stopped/.test(worker.output), 5000);
    // Accepted while the worker drains: it must wait for another worker, not be lost.
    const second = await fire(`${api.url}/hooks/${token}`, { n: 2 });
    expect(second.status).toBe(202);

    const { code, exitedAt } = await stopped;
    expect(code).toBe(0);
    const done = await execution(first.body.executionId);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].attempts).toHaveLength(1);
    expect(done.steps[0].output.body).toEqual({ slow: true });
    expect(done.steps[0].attempts[0].durationMs).toBeGreaterThanOrEqual(2900);
    expect(Date.parse(done.steps[0].attempts[0].finishedAt)).toBeLessThanOrEqual(exitedAt);
    expect((await execution(second.body.executionId)).status).toBe('queued');
    expect(rx.at('/slow').map((r) => (r.json as any).n)).toEqual([1]);
    // One structured line per attempt, with ids and duration.
    const line = worker.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'step attempt');
    expect(line).toMatchObject({
      executionId: first.body.executionId,
      stepId: 'deliver',
      type: 'http',
      attempt: 1,
      outcome: 'succeeded',
      durationMs: expect.any(Number),
      flowId: done.flowId,
    });

    const next = await engine({ MODE: 'worker', PORT: '0' }).start();
    const rest = await settled(second.body.executionId);
    expect(rest.status).toBe('succeeded');
    expect(rx.at('/slow').map((r) => (r.json as any).n)).toEqual([1, 2]);
    await next.stop();
  });

  it('lets go of an attempt that outlasts SHUTDOWN_GRACE_MS; after the restart it runs again', async () => {
    rx.script('/hang', [
      { status: 200, delayMs: 60_000 },
      { status: 200, body: { second: true } },
    ]);
    const token = await hookFor('/hang');
    const worker = await engine({ MODE: 'worker', PORT: '0', SHUTDOWN_GRACE_MS: '1000' }).start();
    const accepted = await fire(`${api.url}/hooks/${token}`, { n: 1 });
    expect(accepted.status).toBe(202);
    await waitFor(() => rx.at('/hang').length === 1, 10_000);

    const t0 = Date.now();
    const { code, exitedAt } = await sigterm(worker);
    expect(code).toBe(0);
    // Bounded: the grace period plus closing connections, not the minute the receiver hangs.
    expect(exitedAt - t0).toBeLessThan(10_000);
    expect(worker.output).toMatch(/grace period over/);
    // Not lost, not failed: still running as far as PostgreSQL knows.
    expect((await execution(accepted.body.executionId)).status).toBe('running');

    const next = await engine({ MODE: 'worker', PORT: '0' }).start();
    const ex = await settled(accepted.body.executionId);
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0].output.body).toEqual({ second: true });
    expect(rx.at('/hang')).toHaveLength(2);
    await next.stop();
  });

  it('answers 503 to new requests while an all-in-one process drains, and finishes what it accepted', async () => {
    rx.script('/drain', [{ status: 200, delayMs: 2500 }]);
    const token = await hookFor('/drain');
    const port = freePort();
    const all = await engine({ MODE: 'all', PORT: port, SHUTDOWN_GRACE_MS: '20000' }).start();
    const accepted = await fire(`${all.url}/hooks/${token}`, { n: 1 });
    expect(accepted.status).toBe(202);
    await waitFor(() => rx.at('/drain').length === 1, 10_000);

    const stopped = sigterm(all);
    await waitFor(() => /intake stopped/.test(all.output), 5000);
    const refused = await fire(`${all.url}/hooks/${token}`, { n: 2 });
    expect(refused.status).toBe(503);
    expect((await fetch(`${all.url}/health`)).status).toBe(503);

    expect((await stopped).code).toBe(0);
    const ex = await execution(accepted.body.executionId);
    expect(ex.status).toBe('succeeded');
    expect(rx.at('/drain').map((r) => (r.json as any).n)).toEqual([1]);

    // One JSON line per request, the trigger token cut to its first four characters.
    const requests = all.output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'request completed');
    expect(requests).toContainEqual(
      expect.objectContaining({
        req: { id: expect.anything(), method: 'POST', url: `/hooks/${token.slice(0, 4)}…` },
        res: { statusCode: 202 },
        responseTime: expect.any(Number),
      }),
    );
    expect(all.output).not.toContain(token);
  });
});
