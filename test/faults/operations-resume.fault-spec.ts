import { Client } from 'pg';
import { bootApp, fire, TestApp } from '../support/app';
import { EngineProcess, freePort } from '../support/engine-process';
import { Receiver } from '../support/receiver';
import { waitFor } from '../support/wait-for';

describe('a worker killed mid-operation (API.md §12)', () => {
  let api: TestApp;
  let rx: Receiver;
  let db: Client;
  beforeAll(async () => {
    rx = await new Receiver().start();
    api = await bootApp({ MODE: 'api' });
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await api.close();
    await rx.stop();
  });

  it('has the operation resumed by the next worker, which finishes it with the same counts', async () => {
    rx.script('/r', [{ status: 500 }]);
    const flows: string[] = [];
    const hooks: string[] = [];
    for (const name of ['resume a', 'resume b']) {
      const res = await api.api('POST', '/api/v1/flows', {
        name,
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'deliver',
            type: 'http',
            method: 'POST',
            url: `${rx.url}/r`,
            body: { ex: '{{ execution.id }}' },
            retry: { attempts: 1 },
          },
        ],
      });
      flows.push(res.body.id);
      hooks.push(`${api.url}/hooks/${res.body.trigger.token}`);
    }
    // Small, slow batches: the operation is surely midway when the worker dies.
    const env = { MODE: 'worker', PORT: freePort(), OPERATION_BATCH_SIZE: '10', OPERATION_PAUSE_MS: '200' };
    const first = await new EngineProcess(env).start();
    const ids: string[] = [];
    for (const hook of hooks) {
      for (let i = 0; i < 100; i += 20) {
        const batch = await Promise.all(Array.from({ length: 20 }, () => fire(hook, {})));
        ids.push(...batch.map((r) => r.body.executionId as string));
      }
    }
    const countIn = async (status: string): Promise<number> => {
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM executions WHERE flow_id = ANY($1::uuid[]) AND status = $2`,
        [flows, status],
      );
      return rows[0].n as number;
    };
    await waitFor(async () => (await countIn('failed')) === 200, 60_000, 200);

    rx.script('/r', [{ status: 200 }]);
    const mark = rx.requests.length;
    const started = await api.api('POST', '/api/v1/executions/bulk', {
      action: 'retry',
      filter: { status: ['failed'], error: 'HTTP 500' },
    });
    expect(started.status).toBe(202);
    expect(started.body.matched).toBe(200);
    const id = started.body.operationId as string;
    const progress = async (): Promise<any> => (await api.api('GET', `/api/v1/operations/${id}`)).body;
    await waitFor(async () => (await progress()).done >= 30, 60_000, 50);
    await first.kill9();
    const midway = await progress();
    expect(midway.status).toBe('running');
    expect(midway.done).toBeLessThan(200);

    const second = await new EngineProcess({ ...env, PORT: freePort() }).start();
    try {
      // The dead worker's lease runs out (15 s), then the new one resumes from the pending items.
      const op = await waitFor(
        async () => {
          const body = await progress();
          return body.status === 'done' ? body : null;
        },
        120_000,
        500,
      );
      expect(op).toMatchObject({ status: 'done', matched: 200, done: 200, failed: 0 });
      // "done" means every execution was sent back to the queue, not that it has run. A job the
      // dead worker had taken comes back only when its lock (JOB_LOCK_MS, 15 s) lapses and Bull's
      // stalled check returns it, about when the operation ends; the last batch may still be queued.
      await waitFor(async () => (await countIn('succeeded')) === 200, 60_000, 200);

      // Retried once each: the original failed attempt and one more, whatever the kill interrupted.
      const { rows } = await db.query(
        `SELECT id, status, jsonb_array_length(steps->'deliver'->'attempts') AS attempts
           FROM executions WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      expect(rows).toHaveLength(200);
      for (const row of rows) expect([row.status, row.attempts]).toEqual(['succeeded', 2]);
      const delivered = new Set(rx.requests.slice(mark).map((r) => (r.json as { ex: string }).ex));
      expect(delivered.size).toBe(200);

      const audit = await api.api('GET', '/api/v1/audit?action=execution.bulk');
      expect(audit.body.items).toHaveLength(1);
      expect(audit.body.items[0].after).toMatchObject({ status: 'done', matched: 200, done: 200, failed: 0 });
    } finally {
      await second.stop();
    }
  });
});
