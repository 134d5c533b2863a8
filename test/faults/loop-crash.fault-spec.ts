import { EngineProcess, engineApi as api, freePort } from '../support/engine-process';
import { PrivateRedis } from '../support/private-servers';
import { Receiver } from '../support/receiver';
import { sleep, waitFor } from '../support/wait-for';

// forEach loops survive a crash (API.md section 7): kill -9 of the engine, or a Redis that comes back
// empty, in the middle of a 500-item loop loses no item; an item is delivered again only if its
// attempt was in flight (at most `concurrency` of them).

const CONCURRENCY = 8;
/** Short job locks and a quick reconciler, so that recovery happens well within the test. */
const QUICK_RECOVERY = {
  MODE: 'all',
  JOB_LOCK_MS: '2000',
  RECONCILE_INTERVAL_MS: '500',
  RECONCILE_AFTER_MS: '1000',
};

/** The http step each loop item runs: it posts the item's key to the receiver. */
function send(url: string, key: string): Record<string, unknown> {
  return { id: 'send', type: 'http', method: 'POST', url, body: { k: key } };
}

/** Creates a webhook flow of `steps`, fires it once and returns the execution's id. */
async function fireFlow(engine: EngineProcess, name: string, steps: unknown[]): Promise<string> {
  const flow = await api(engine.url, 'POST', '/api/v1/flows', { name, trigger: { type: 'webhook' }, steps });
  const res = await fetch(`${engine.url}/hooks/${flow.trigger.token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { executionId: string }).executionId;
}

/** A run left unfinished by a failure must not be picked up by later files' engines (same database). */
async function abandon(engine: EngineProcess, executionId: string | undefined): Promise<void> {
  if (executionId)
    await api(engine.url, 'POST', `/api/v1/executions/${executionId}/cancel`).catch(() => undefined);
}

/** How many times each key arrived at the receiver's path. */
function arrivals(rx: Receiver, path: string): Map<string, number> {
  const seen = new Map<string, number>();
  for (const r of rx.at(path)) {
    const k = (r.json as { k: string }).k;
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return seen;
}

async function succeeded(engine: EngineProcess, id: string): Promise<any> {
  let last: any;
  try {
    return await waitFor(
      async () => {
        last = await api(engine.url, 'GET', `/api/v1/executions/${id}`);
        if (last.status === 'failed' || last.status === 'cancelled')
          throw new Error(`execution ${last.status}: ${last.error}`);
        return last.status === 'succeeded' ? last : null;
      },
      90_000,
      300,
    );
  } catch (e) {
    // Why, for the log: the run's state and the engine's last lines.
    const state = JSON.stringify({ status: last?.status, loop: last?.steps?.[0]?.iterations });
    throw new Error(`${(e as Error).message}; ${state}; engine output: ${engine.output.slice(-4000)}`, {
      cause: e,
    });
  }
}

describe('a forEach in the middle of a crash', () => {
  it('kill -9 mid-loop (a loop inside a loop): every item delivered, repeats only for attempts in flight', async () => {
    const rx = await new Receiver().start();
    rx.script('/crash-item', [{ status: 200, delayMs: 5 }]);
    const engine = new EngineProcess({ ...QUICK_RECOVERY, PORT: freePort() });
    let started: string | undefined;
    try {
      await engine.start();
      started = await fireFlow(engine, 'loop-crash', [
        {
          id: 'outer',
          type: 'forEach',
          items: '[0..4]',
          concurrency: 2,
          steps: [
            {
              id: 'inner',
              type: 'forEach',
              items: '[0..99]',
              concurrency: CONCURRENCY,
              steps: [send(`${rx.url}/crash-item`, "{{ loops.outer.item & '/' & item }}")],
            },
          ],
        },
      ]);
      await waitFor(() => rx.at('/crash-item').length >= 120, 30_000);
      await engine.kill9();
      const atKill = rx.at('/crash-item').length;
      expect(atKill).toBeLessThan(500);

      await engine.start();
      const ex = await succeeded(engine, started);
      const seen = arrivals(rx, '/crash-item');
      const expected = Array.from({ length: 500 }, (_, n) => `${Math.floor(n / 100)}/${n % 100}`);
      expect(expected.filter((k) => !seen.has(k))).toEqual([]);
      expect(seen.size).toBe(500);
      // Two outer items run at once, each with CONCURRENCY inner attempts in flight at the kill.
      const repeated = [...seen.values()].filter((n) => n > 1).length;
      expect(repeated).toBeLessThanOrEqual(2 * CONCURRENCY);
      expect([...seen.values()].every((n) => n <= 2)).toBe(true);
      expect(ex.steps[0].iterations).toMatchObject({ total: 5, succeeded: 5, failed: 0, cancelled: 0 });
      expect(ex.steps[0].output).toHaveLength(5);
      expect(ex.steps[0].output.every((inner: unknown[]) => inner.length === 100)).toBe(true);
    } finally {
      await abandon(engine, started);
      await engine.stop();
      await rx.stop();
    }
  });

  it('Redis restarted empty mid-loop: every item delivered, repeats only for attempts in flight', async () => {
    const redis = new PrivateRedis(Number(freePort()));
    const rx = await new Receiver().start();
    rx.script('/redis-item', [{ status: 200, delayMs: 5 }]);
    const engine = new EngineProcess({ ...QUICK_RECOVERY, PORT: freePort(), REDIS_URL: redis.url });
    let started: string | undefined;
    try {
      await redis.start();
      await engine.start();
      started = await fireFlow(engine, 'loop-redis', [
        {
          id: 'each',
          type: 'forEach',
          items: '[0..499]',
          concurrency: CONCURRENCY,
          steps: [send(`${rx.url}/redis-item`, '{{ $string(item) }}')],
        },
      ]);
      await waitFor(() => rx.at('/redis-item').length >= 120, 30_000);
      await redis.stop(); // every job and lock is gone
      await sleep(1000);
      await redis.start();

      const ex = await succeeded(engine, started);
      const seen = arrivals(rx, '/redis-item');
      expect(Array.from({ length: 500 }, (_, n) => String(n)).filter((k) => !seen.has(k))).toEqual([]);
      expect(seen.size).toBe(500);
      expect([...seen.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(CONCURRENCY);
      expect(ex.steps[0].iterations).toMatchObject({ total: 500, succeeded: 500, failed: 0 });
      expect(ex.steps[0].output).toHaveLength(500);
    } finally {
      await abandon(engine, started);
      await engine.stop();
      await redis.stop();
      await rx.stop();
    }
  });
});
