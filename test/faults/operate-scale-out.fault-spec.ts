import { fire, TEST_API_KEY } from '../support/app';
import { EngineProcess, freePort } from '../support/engine-process';
import { metricValue, scrape } from '../support/operate-metrics';
import { Receiver } from '../support/receiver';
import { waitFor } from '../support/wait-for';

const BURST = 60;
const FAILING_FIRST = 20;

interface AttemptLine {
  msg: string;
  executionId: string;
  stepId: string;
  attempt: number;
  outcome: string;
}

function attemptLines(engine: EngineProcess): AttemptLine[] {
  return engine.output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as AttemptLine)
    .filter((l) => l.msg === 'step attempt');
}

describe('operate: scale-out — one MODE=api and two MODE=worker processes', () => {
  let rx: Receiver;
  let api: EngineProcess;
  let workers: EngineProcess[];
  const metricsPorts = [freePort(), freePort()];

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${api.url}${path}`, {
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

  async function executionsOf(flowId: string, status?: string): Promise<any[]> {
    const res = await call(
      'GET',
      `/api/v1/executions?flowId=${flowId}&limit=200${status ? `&status=${status}` : ''}`,
    );
    expect(res.status).toBe(200);
    return res.body.items;
  }

  beforeAll(async () => {
    rx = await new Receiver().start();
    api = await new EngineProcess({ MODE: 'api', PORT: freePort() }).start();
    workers = await Promise.all(
      metricsPorts.map((port) =>
        new EngineProcess({ MODE: 'worker', PORT: '0', LOG_LEVEL: 'info', METRICS_PORT: port }).start(),
      ),
    );
  });
  afterAll(async () => {
    for (const w of workers ?? []) await w.stop();
    await api?.stop();
    await rx.stop();
  });

  it('delivers every step of a burst, each attempt exactly once, spread over both workers', async () => {
    // Step `two` fails the first FAILING_FIRST times it is called, so some steps need a second attempt.
    rx.script('/one', [{ status: 200, delayMs: 20 }]);
    rx.script('/two', [...Array(FAILING_FIRST).fill({ status: 503 }), { status: 200, delayMs: 20 }]);
    const body = { e: '{{ execution.id }}' };
    const flow = await call('POST', '/api/v1/flows', {
      name: 'fan-out',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'one', type: 'http', method: 'POST', url: `${rx.url}/one`, body },
        {
          id: 'two',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/two`,
          body,
          retry: { attempts: 10, backoff: { type: 'fixed', delayMs: 100 } },
        },
      ],
    });
    expect(flow.status).toBe(201);
    const hook = `${api.url}/hooks/${flow.body.trigger.token}`;

    const accepted: string[] = [];
    for (let i = 0; i < BURST; i += 20) {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, j) => fire(hook, { n: i + j })));
      for (const a of answers) {
        expect(a.status).toBe(202);
        accepted.push(a.body.executionId);
      }
    }
    await waitFor(async () => (await executionsOf(flow.body.id, 'succeeded')).length === BURST, 90_000, 250);
    expect(await executionsOf(flow.body.id)).toHaveLength(BURST);

    const received = new Map<string, number>();
    for (const r of rx.requests) {
      const key = `${(r.json as any).e}:${r.url}`;
      received.set(key, (received.get(key) ?? 0) + 1);
    }
    let secondAttempts = 0;
    for (const id of accepted) {
      const ex = (await call('GET', `/api/v1/executions/${id}`)).body;
      expect(ex.status).toBe('succeeded');
      const [one, two] = ex.steps;
      // Step one: one attempt, one request. Step two: as many requests as recorded attempts.
      expect([id, one.attempts.length, received.get(`${id}:/one`)]).toEqual([id, 1, 1]);
      expect([id, received.get(`${id}:/two`)]).toEqual([id, two.attempts.length]);
      expect(two.attempts.map((a: any) => a.n)).toEqual(two.attempts.map((_: unknown, i: number) => i + 1));
      expect(two.attempts.at(-1).response.status).toBe(200);
      for (const a of two.attempts.slice(0, -1)) expect(a.response.status).toBe(503);
      secondAttempts += two.attempts.length - 1;
    }
    expect(secondAttempts).toBe(FAILING_FIRST);
    expect(rx.at('/one')).toHaveLength(BURST);
    expect(rx.at('/two')).toHaveLength(BURST + FAILING_FIRST);

    // Each attempt ran in exactly one worker, and both workers took part.
    const lines = workers.map(attemptLines);
    const ours = new Set(accepted);
    const perWorker = lines.map((ls) => ls.filter((l) => ours.has(l.executionId)));
    expect(perWorker.every((ls) => ls.length > 0)).toBe(true);
    const keys = perWorker.flat().map((l) => `${l.executionId}:${l.stepId}:${l.attempt}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(2 * BURST + FAILING_FIRST);

    // Worker metrics (METRICS_PORT) add up to the same count.
    let attempts = 0;
    for (const port of metricsPorts) {
      const text = await scrape(`http://127.0.0.1:${port}`);
      attempts += metricValue(text, 'hookflow_step_attempts_total', { type: 'http' });
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    }
    expect(attempts).toBe(2 * BURST + FAILING_FIRST);
  });

  it('fires a schedule once per planned time however many workers run', async () => {
    const flow = await call('POST', '/api/v1/flows', {
      name: 'every two seconds',
      trigger: { type: 'schedule', cron: '*/2 * * * * *' },
      steps: [
        {
          id: 'tick',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/tick`,
          body: { at: '{{ event.scheduledAt }}', e: '{{ execution.id }}' },
        },
      ],
    });
    expect(flow.status).toBe(201);
    await waitFor(async () => (await executionsOf(flow.body.id, 'succeeded')).length >= 4, 30_000, 250);
    expect((await call('PATCH', `/api/v1/flows/${flow.body.id}`, { enabled: false })).status).toBe(200);
    // Whatever was started before the disable finishes; then the set is final.
    await waitFor(
      async () => {
        const all = await executionsOf(flow.body.id);
        return all.every((e) => e.status === 'succeeded') ? all : null;
      },
      15_000,
      250,
    );
    const all = await executionsOf(flow.body.id);

    const planned = new Map<string, number>();
    for (const summary of all) {
      const ex = (await call('GET', `/api/v1/executions/${summary.id}`)).body;
      expect(ex.event.type).toBe('schedule');
      const at = ex.event.scheduledAt as string;
      expect(new Date(at).getUTCMilliseconds()).toBe(0);
      expect(new Date(at).getUTCSeconds() % 2).toBe(0);
      planned.set(at, (planned.get(at) ?? 0) + 1);
    }
    expect(planned.size).toBe(all.length);
    expect([...planned.values()].every((n) => n === 1)).toBe(true);
    // Each planned time reached the receiver once.
    const ticks = rx.at('/tick').map((r) => (r.json as any).at as string);
    expect(ticks.sort()).toEqual([...planned.keys()].sort());
  });
});
