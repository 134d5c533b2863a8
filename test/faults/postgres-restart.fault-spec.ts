import { EngineProcess, engineApi as api, freePort } from '../support/engine-process';
import { PrivatePostgres } from '../support/private-servers';
import { Receiver } from '../support/receiver';
import { waitFor } from '../support/wait-for';

describe('PostgreSQL restarted mid-run', () => {
  it('answers 503 (never 2xx) while it is down, and resumes the work after', async () => {
    const pg = await new PrivatePostgres(Number(freePort())).init();
    const rx = await new Receiver().start();
    rx.script('/slowish', [{ status: 200, delayMs: 100 }]);
    const env = {
      MODE: 'all',
      PORT: freePort(),
      DATABASE_URL: pg.url,
      JOB_LOCK_MS: '2000',
      RECONCILE_INTERVAL_MS: '500',
      RECONCILE_AFTER_MS: '1000',
      WORKER_CONCURRENCY: '4',
    };
    const engine = new EngineProcess(env);
    try {
      await pg.start();
      await engine.start();
      const flow = await api(engine.url, 'POST', '/api/v1/flows', {
        name: 'pg-restart',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'deliver',
            type: 'http',
            method: 'POST',
            url: `${rx.url}/slowish`,
            body: { execution: '{{ execution.id }}' },
          },
        ],
      });
      const hook = `${engine.url}/hooks/${flow.trigger.token}`;
      const accepted: string[] = [];
      for (let n = 0; n < 60; n++) {
        const res = await fetch(hook, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        expect(res.status).toBe(202);
        accepted.push(((await res.json()) as { executionId: string }).executionId);
      }
      await pg.stop();
      const whileDown: number[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await fetch(hook, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        whileDown.push(res.status);
      }
      expect(whileDown.every((s) => s === 503)).toBe(true);
      await pg.start();
      const after = await waitFor(
        async () => {
          const res = await fetch(hook, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          });
          return res.status === 202 ? ((await res.json()) as { executionId: string }).executionId : null;
        },
        30_000,
        250,
      );
      accepted.push(after);
      const delivered = (): Set<string> =>
        new Set(rx.at('/slowish').map((r) => (r.json as { execution: string }).execution));
      await waitFor(() => accepted.every((id) => delivered().has(id)), 120_000, 500);
      await waitFor(
        async () => {
          const list = await api(engine.url, 'GET', `/api/v1/executions?flowId=${flow.id}&limit=200`);
          return (
            list.items.length === accepted.length &&
            list.items.every((e: { status: string }) => e.status === 'succeeded')
          );
        },
        60_000,
        500,
      );
    } finally {
      await engine.stop();
      await pg.destroy();
      await rx.stop();
    }
  });
});
