import { EngineProcess, engineApi as api, freePort } from '../support/engine-process';
import { PrivateRedis } from '../support/private-servers';
import { Receiver } from '../support/receiver';
import { sleep, waitFor } from '../support/wait-for';

describe('Redis restarted mid-run (it keeps nothing on disk)', () => {
  it('rebuilds queued and delayed work from PostgreSQL and loses nothing', async () => {
    const redis = new PrivateRedis(Number(freePort()));
    const rx = await new Receiver().start();
    // The receiver is down at first, so work piles up as delayed retries inside Redis.
    rx.script('/later', [{ status: 503 }]);
    const env = {
      MODE: 'all',
      PORT: freePort(),
      REDIS_URL: redis.url,
      JOB_LOCK_MS: '2000',
      RECONCILE_INTERVAL_MS: '500',
      RECONCILE_AFTER_MS: '1000',
    };
    const engine = new EngineProcess(env);
    try {
      await redis.start();
      await engine.start();
      const flow = await api(engine.url, 'POST', '/api/v1/flows', {
        name: 'redis-loss',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'deliver',
            type: 'http',
            method: 'POST',
            url: `${rx.url}/later`,
            body: { n: '{{ event.body.n }}', execution: '{{ execution.id }}' },
            retry: { attempts: 25, backoff: { type: 'fixed', delayMs: 1500 } },
          },
        ],
      });
      const hook = `${engine.url}/hooks/${flow.trigger.token}`;
      const accepted: string[] = [];
      for (let n = 0; n < 40; n++) {
        const res = await fetch(hook, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ n }),
        });
        expect(res.status).toBe(202);
        accepted.push(((await res.json()) as { executionId: string }).executionId);
      }
      await waitFor(() => rx.at('/later').length >= 40, 20_000);

      await redis.stop(); // every job, delayed retry and lock is gone
      // Accepting goes on while Redis is away: the event is committed, the job comes later.
      for (let n = 40; n < 50; n++) {
        const res = await fetch(hook, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ n }),
        });
        expect(res.status).toBe(202);
        accepted.push(((await res.json()) as { executionId: string }).executionId);
      }
      await sleep(1000);
      await redis.start();
      rx.script('/later', [{ status: 200 }]);

      const delivered = (): Set<string> =>
        new Set(rx.at('/later').map((r) => (r.json as { execution: string }).execution));
      await waitFor(
        async () => {
          const list = await api(
            engine.url,
            'GET',
            `/api/v1/executions?flowId=${flow.id}&status=succeeded&limit=200`,
          );
          return list.items.length === accepted.length;
        },
        90_000,
        500,
      );
      for (const id of accepted) expect(delivered().has(id)).toBe(true);
    } finally {
      await engine.stop();
      await redis.stop();
      await rx.stop();
    }
  });
});
