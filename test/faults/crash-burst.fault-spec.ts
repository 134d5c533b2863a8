import { EngineProcess, engineApi as api, freePort } from '../support/engine-process';
import { Receiver } from '../support/receiver';
import { waitFor } from '../support/wait-for';

const FINAL = ['succeeded', 'failed', 'filtered', 'cancelled'];

describe('kill -9 of the all-in-one process during a burst', () => {
  it('delivers every event that got a 2xx at least once, and every execution ends', async () => {
    const rx = await new Receiver().start();
    rx.script('/slow', [{ status: 200, delayMs: 150 }]);
    const env = {
      MODE: 'all',
      PORT: freePort(),
      JOB_LOCK_MS: '2000',
      RECONCILE_INTERVAL_MS: '500',
      RECONCILE_AFTER_MS: '1000',
      WORKER_CONCURRENCY: '8',
      // The other fault suites run the default (one thread on this two-core machine): this one keeps
      // the worker-thread layout of larger machines under kill -9.
      WORKER_THREADS: '1',
    };
    let engine = new EngineProcess(env);
    try {
      await engine.start();
      const flow = await api(engine.url, 'POST', '/api/v1/flows', {
        name: 'burst',
        trigger: { type: 'webhook' },
        steps: [
          { id: 'shape', type: 'transform', expression: '{"n": event.body.n, "execution": execution.id}' },
          {
            id: 'deliver',
            type: 'http',
            method: 'POST',
            url: `${rx.url}/slow`,
            body: '{{ steps.shape }}',
            retry: { attempts: 10, backoff: { type: 'fixed', delayMs: 200 } },
          },
        ],
      });
      const hook = `${engine.url}/hooks/${flow.trigger.token}`;
      const accepted: string[] = [];
      let next = 0;
      let killed = false;
      const sender = async (): Promise<void> => {
        while (next < 500) {
          const n = next++;
          try {
            const res = await fetch(hook, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ n }),
            });
            if (res.status >= 200 && res.status < 300)
              accepted.push(((await res.json()) as { executionId: string }).executionId);
          } catch {
            // the process was killed under this request: no 2xx, no promise made
          }
          if (!killed && n === 250) {
            killed = true;
            await engine.kill9();
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, () => sender()));
      expect(killed).toBe(true);
      expect(accepted.length).toBeGreaterThan(100);

      engine = new EngineProcess(env);
      await engine.start();
      const delivered = (): Set<string> =>
        new Set(rx.at('/slow').map((r) => (r.json as { execution: string }).execution));
      await waitFor(() => accepted.every((id) => delivered().has(id)), 150_000, 500);
      for (const id of accepted) {
        const ex = await waitFor(
          async () => {
            const body = await api(engine.url, 'GET', `/api/v1/executions/${id}`);
            return FINAL.includes(body.status) ? body : null;
          },
          30_000,
          100,
        );
        expect(ex.status).toBe('succeeded');
      }
    } finally {
      await engine.stop();
      await rx.stop();
    }
  });
});
