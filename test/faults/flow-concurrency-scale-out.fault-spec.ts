import { fire } from '../support/app';
import { EngineProcess, engineApi, freePort } from '../support/engine-process';
import { inParallel, SlowReceiver } from '../support/slow-receiver';
import { waitFor } from '../support/wait-for';

const KEYS = 10;
const PER_KEY = 20;

/**
 * Flow-level `concurrency` across processes: one MODE=api process (it claims slots for the events it
 * accepts) and two MODE=worker processes (they claim when an execution ends), all taking turns on the
 * same lines. Then a worker is killed -9 in the middle of a line: the line waits for the reconciler
 * and Bull's stalled-job check, and still finishes in order.
 */
describe('flow concurrency with two worker processes', () => {
  let rx: SlowReceiver;
  let api: EngineProcess;
  let workers: EngineProcess[];

  const call = (method: string, path: string, body?: unknown): Promise<any> =>
    engineApi(api.url, method, path, body);

  async function allFinal(ids: string[], timeoutMs: number): Promise<any[]> {
    return waitFor(
      async () => {
        const runs = await Promise.all(ids.map((id) => call('GET', `/api/v1/executions/${id}`)));
        return runs.every((r) => ['succeeded', 'failed', 'cancelled'].includes(r.status)) ? runs : null;
      },
      timeoutMs,
      250,
    );
  }

  async function flowTo(path: string, concurrency: unknown): Promise<string> {
    const flow = await call('POST', '/api/v1/flows', {
      name: `concurrency ${path}`,
      trigger: { type: 'webhook' },
      concurrency,
      steps: [
        { id: 'deliver', type: 'http', method: 'POST', url: `${rx.url}${path}`, body: '{{ event.body }}' },
      ],
    });
    expect(flow.trigger.token).toEqual(expect.any(String));
    return `${api.url}/hooks/${flow.trigger.token}`;
  }

  beforeAll(async () => {
    rx = await new SlowReceiver().start();
    api = await new EngineProcess({ MODE: 'api', PORT: freePort() }).start();
    workers = await Promise.all(
      [0, 1].map(() =>
        new EngineProcess({
          MODE: 'worker',
          PORT: '0',
          LOG_LEVEL: 'info',
          RECONCILE_INTERVAL_MS: '1000',
          RECONCILE_AFTER_MS: '2000',
        }).start(),
      ),
    );
  });
  afterAll(async () => {
    for (const w of workers ?? []) await w.stop();
    await api?.stop();
    await rx.stop();
  });

  it('limit 1 per key: every key in acceptance order, one at a time, spread over both workers', async () => {
    rx.delay('/fifo', 10);
    const hook = await flowTo('/fifo', { limit: 1, key: 'event.body.k' });
    const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
    const ids = await inParallel(keys, KEYS, async (k) => {
      const out: string[] = [];
      for (let n = 0; n < PER_KEY; n++) {
        const res = await fire(hook, { k, n });
        expect(res.status).toBe(202);
        out.push(res.body.executionId as string);
      }
      return out;
    });
    const runs = await allFinal(ids.flat(), 120_000);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    const seen = rx.at('/fifo');
    expect(seen).toHaveLength(KEYS * PER_KEY);
    expect(Math.max(...seen.map((a) => a.inFlightForKey))).toBe(1);
    for (const k of keys) {
      expect(seen.filter((a) => a.body.k === k).map((a) => a.body.n)).toEqual([...Array(PER_KEY).keys()]);
    }
    // Both workers ran deliveries of this flow.
    const ours = new Set(ids.flat());
    for (const w of workers) {
      const lines = w.output.split('\n').filter((l) => l.startsWith('{') && l.includes('"step attempt"'));
      expect(lines.some((l) => ours.has((JSON.parse(l) as { executionId: string }).executionId))).toBe(true);
    }
  }, 180_000);

  it('limit 4 without a key: never more than 4 at the receiver, whichever process claims', async () => {
    rx.delay('/four', 150);
    const hook = await flowTo('/four', { limit: 4 });
    const accepted = await Promise.all(Array.from({ length: 40 }, (_, n) => fire(hook, { n })));
    await allFinal(
      accepted.map((a) => a.body.executionId as string),
      60_000,
    );
    const seen = rx.at('/four');
    expect(seen).toHaveLength(40);
    expect(Math.max(...seen.map((a) => a.inFlight))).toBeLessThanOrEqual(4);
  }, 90_000);

  it('a worker killed -9 mid-line: the line still ends, in order, one at a time', async () => {
    rx.delay('/kill', 300);
    const hook = await flowTo('/kill', { limit: 1, key: 'event.body.k' });
    const ids: string[] = [];
    for (let n = 0; n < 12; n++) {
      const res = await fire(hook, { k: 'only', n });
      expect(res.status).toBe(202);
      ids.push(res.body.executionId as string);
    }
    await waitFor(() => rx.at('/kill').length >= 3, 20_000);
    await workers[0].kill9();
    const runs = await allFinal(ids, 120_000);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    // An attempt cut off by the kill may be delivered again (at least once): collapse repeats.
    const order = rx
      .at('/kill')
      .map((a) => a.body.n as number)
      .filter((n, i, all) => i === 0 || all[i - 1] !== n);
    expect(order).toEqual([...Array(12).keys()]);
    expect(Math.max(...rx.at('/kill').map((a) => a.inFlightForKey))).toBe(1);
  }, 180_000);
});
