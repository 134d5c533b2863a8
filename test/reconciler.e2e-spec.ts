import Redis from 'ioredis';
import { Client } from 'pg';
import { ExecutionRepository } from 'src/executions/execution.repository';
import { ReconcilerService } from 'src/executions/reconciler.service';
import { bootApp, fire, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { waitFor } from './support/wait-for';

const prefix = process.env.QUEUE_PREFIX ?? 'hookflow';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

type Scene = { api: TestApp; rx: Receiver; redis: Redis; startWorker: () => Promise<TestApp> };

/**
 * Runs `test` with an API-only instance (it commits and enqueues, nothing consumes), a receiver
 * and a Redis client to break the queue with; `startWorker` then boots an all-in-one instance that
 * reconciles every 200 ms. Everything is closed afterwards.
 */
async function scene(test: (s: Scene) => Promise<void>): Promise<void> {
  const rx = await new Receiver().start();
  const redis = new Redis(redisUrl);
  const api = await bootApp({ MODE: 'api' });
  let worker: TestApp | undefined;
  const startWorker = async (): Promise<TestApp> =>
    (worker = await bootApp({ MODE: 'all', RECONCILE_INTERVAL_MS: '200', RECONCILE_AFTER_MS: '0' }));
  try {
    await test({ api, rx, redis, startWorker });
  } finally {
    await worker?.close();
    await api.close();
    redis.disconnect();
    await rx.stop();
  }
}

/** Creates a webhook flow of `steps` and fires it `count` times with `{ n }`; the executions' ids. */
async function fireNumbered(api: TestApp, name: string, steps: unknown[], count: number): Promise<string[]> {
  const created = await api.api('POST', '/api/v1/flows', { name, trigger: { type: 'webhook' }, steps });
  const hook = `${api.url}/hooks/${created.body.trigger.token}`;
  const ids: string[] = [];
  for (let n = 0; n < count; n++) {
    const res = await fire(hook, { n });
    expect(res.status).toBe(202);
    ids.push(res.body.executionId as string);
  }
  return ids;
}

/** The numbers that arrived at `path`, sorted. */
function numbersAt(rx: Receiver, path: string): number[] {
  return rx
    .at(path)
    .map((r) => (r.json as { n: number }).n)
    .sort();
}

describe('no gap loses work', () => {
  it('delivers an accepted event after Redis lost every job (reconciler)', () =>
    scene(async ({ api, rx, redis, startWorker }) => {
      const ids = await fireNumbered(
        api,
        'reconcile',
        [
          { id: 'shape', type: 'transform', expression: '{"n": event.body.n}' },
          { id: 'go', type: 'http', method: 'POST', url: `${rx.url}/reconciled`, body: '{{ steps.shape }}' },
        ],
        5,
      );
      const jobKey = (id: string): Promise<string[]> => redis.keys(`${prefix}:steps:${id}:*`);
      await waitFor(async () => (await jobKey(ids[4])).length > 0, 5000);

      // Redis loses everything of ours, as a restart without persistence does.
      const keys = await redis.keys(`${prefix}:*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
      for (const id of ids) expect(await jobKey(id)).toEqual([]);

      const worker = await startWorker();
      await waitFor(() => rx.at('/reconciled').length >= 5, 20_000);
      expect(numbersAt(rx, '/reconciled')).toEqual([0, 1, 2, 3, 4]);
      for (const id of ids) {
        const ex = await waitFor(async () => {
          const res = await worker.api('GET', `/api/v1/executions/${id}`);
          return res.body.status === 'succeeded' ? res.body : null;
        }, 10_000);
        expect(ex.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'succeeded']);
      }
      const metrics = await (await fetch(`${worker.url}/metrics`)).text();
      expect(metrics).toMatch(/hookflow_reconciler_requeued_total \d+/);
      expect(Number(/hookflow_reconciler_requeued_total (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(5);
    }));

  it('re-adds a job whose hash was left in no list (a move that failed across a Redis restart)', () =>
    scene(async ({ api, rx, redis, startWorker }) => {
      const ids = await fireNumbered(
        api,
        'orphan hashes',
        [
          {
            id: 'go',
            type: 'http',
            method: 'POST',
            url: `${rx.url}/orphaned`,
            body: { n: '{{ event.body.n }}' },
          },
        ],
        3,
      );
      const jobKeys = async (): Promise<string[]> =>
        (await Promise.all(ids.map((id) => redis.keys(`${prefix}:steps:${id}:*`)))).flat();
      await waitFor(async () => (await jobKeys()).length === 3, 5000);
      // The jobs leave the wait list; their hashes stay, as Bull's failed move leaves them.
      await redis.del(`${prefix}:steps:wait`);
      expect(await jobKeys()).toHaveLength(3);

      await startWorker();
      await waitFor(() => rx.at('/orphaned').length >= 3, 15_000);
      expect(numbersAt(rx, '/orphaned')).toEqual([0, 1, 2]);
    }));

  it('re-adds only jobs that are really missing, not one that finished while it looked', async () => {
    const redis = new Redis(redisUrl);
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    // Sweeps only when the test calls one; every active execution counts as stale.
    const app = await bootApp({ RECONCILE_INTERVAL_MS: '3600000', RECONCILE_AFTER_MS: '0' });
    const repo = app.app.get(ExecutionRepository);
    const stale = repo.stale.bind(repo);
    try {
      const created = await app.api('POST', '/api/v1/flows', {
        name: 'reconcile race',
        trigger: { type: 'webhook' },
        steps: [
          { id: 'pause', type: 'delay', ms: 600_000 },
          { id: 'go', type: 'http', method: 'POST', url: 'http://127.0.0.1:9/never' },
        ],
      });
      const hook = `${app.url}/hooks/${created.body.trigger.token}`;
      const [finishing, lost] = [
        (await fire(hook, {})).body.executionId,
        (await fire(hook, {})).body.executionId,
      ];
      const jobOf = async (id: string): Promise<string> => {
        const res = await db.query('SELECT job_id, status FROM executions WHERE id = $1', [id]);
        return res.rows[0]?.status === 'waiting' ? res.rows[0].job_id : '';
      };
      const jobs = await waitFor(async () => {
        const ids = [await jobOf(finishing), await jobOf(lost)];
        const there = await Promise.all(
          ids.map((j) => (j ? redis.exists(`${prefix}:steps:${j}`) : Promise.resolve(0))),
        );
        return there.every((n) => n === 1) ? ids : null;
      }, 10_000);

      // Redis really lost one job; the other finishes between the reconciler's SELECT and its
      // EXISTS, as a runner does: progress committed first, then the job leaves Redis.
      await redis.del(`${prefix}:steps:${jobs[1]}`);
      repo.stale = async (...args) => {
        const rows = await stale(...args);
        await db.query(`UPDATE executions SET status = 'succeeded', job_id = NULL WHERE id = $1`, [
          finishing,
        ]);
        await redis.del(`${prefix}:steps:${jobs[0]}`);
        return rows;
      };
      expect(await app.app.get(ReconcilerService).sweep()).toBe(1);
      expect(await redis.exists(`${prefix}:steps:${jobs[1]}`)).toBe(1);
      expect(await redis.exists(`${prefix}:steps:${jobs[0]}`)).toBe(0);
    } finally {
      repo.stale = stale;
      await app.close();
      await db.end();
      redis.disconnect();
    }
  });
});
