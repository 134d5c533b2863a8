import { DataSource } from 'typeorm';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { STEPS_QUEUE } from 'src/queue/queue.constants';
import { bootApp, fire, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { FINAL_STATUSES } from './support/flow-runs';
import { waitFor } from './support/wait-for';

/**
 * Executions of many flows share one INSERT and one progress UPDATE (src/common/batcher.ts). One row
 * PostgreSQL refuses must fail alone: the other members of its batch are written, and no step of
 * theirs runs twice.
 */
describe('isolation: a poison row fails alone in a shared batch', () => {
  let t: TestApp;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await bootApp({ WORKER_CONCURRENCY: '16' });
  });
  afterAll(async () => {
    await t.close();
    await rx.stop();
  });

  async function flow(name: string, steps: unknown[]): Promise<string> {
    const res = await t.api('POST', '/api/v1/flows', { name, trigger: { type: 'webhook' }, steps });
    expect(res.status).toBe(201);
    return `${t.url}/hooks/${res.body.trigger.token}`;
  }

  async function finalStatuses(ids: string[]): Promise<Map<string, any>> {
    return waitFor(
      async () => {
        const out = new Map<string, any>();
        for (const id of ids) {
          const ex = (await t.api('GET', `/api/v1/executions/${id}`)).body;
          if (!FINAL_STATUSES.includes(ex.status)) return null;
          out.set(id, ex);
        }
        return out;
      },
      60_000,
      200,
    );
  }

  it('a step output PostgreSQL cannot store fails its own execution; healthy executions beside it deliver once', async () => {
    // The poison receiver answers JSON text with a lone surrogate escape: parsed, it is a JavaScript
    // string that jsonb refuses.
    rx.script('/poison', [{ status: 200, body: { x: '\ud800' } }]);
    const poison = await flow('poison output', [
      {
        id: 'call',
        type: 'http',
        method: 'POST',
        url: `${rx.url}/poison`,
        body: { n: '{{ event.body.n }}' },
      },
      { id: 'after', type: 'http', method: 'POST', url: `${rx.url}/after-poison` },
    ]);
    const healthy = await flow('healthy', [
      {
        id: 'one',
        type: 'http',
        method: 'POST',
        url: `${rx.url}/healthy`,
        body: { n: '{{ event.body.n }}' },
      },
      {
        id: 'two',
        type: 'http',
        method: 'POST',
        url: `${rx.url}/healthy-2`,
        body: { n: '{{ event.body.n }}' },
      },
    ]);

    const N = 30;
    const answers = await Promise.all(
      Array.from({ length: N }, (_, n) => [fire(poison, { n }), fire(healthy, { n })]).flat(),
    );
    for (const a of answers) expect(a.status).toBe(202);
    const ids = answers.map((a) => a.body.executionId as string);
    const all = await finalStatuses(ids);
    const poisonIds = ids.filter((_, i) => i % 2 === 0);
    const healthyIds = ids.filter((_, i) => i % 2 === 1);

    for (const id of healthyIds) expect(all.get(id).status).toBe('succeeded');
    for (const id of poisonIds) {
      const ex = all.get(id);
      expect(ex.status).toBe('failed');
      expect(ex.error).toMatch(/step call failed: .*surrogate/);
      expect(ex.steps[0].attempts).toHaveLength(1);
    }

    // Nothing is left to run: no execution active, no job in the queue (a retried batch would leave some).
    const rows = await t.app
      .get(DataSource)
      .query(
        `SELECT count(*)::int AS n FROM executions WHERE id = ANY($1::uuid[]) AND status IN ('queued','running','waiting')`,
        [ids],
      );
    expect(rows[0].n).toBe(0);
    const queue = t.app.get<Queue>(getQueueToken(STEPS_QUEUE));
    const ours = new Set(ids);
    await waitFor(async () => {
      const jobs = await queue.getJobs(['waiting', 'active', 'delayed']);
      return jobs.every(
        (j) => !ours.has((j?.data as { executionId?: string } | undefined)?.executionId ?? ''),
      );
    }, 10_000);
    const perN = (path: string): number[] =>
      rx
        .at(path)
        .map((r) => (r.json as { n: number }).n)
        .sort((a, b) => a - b);
    const once = Array.from({ length: N }, (_, n) => n);
    expect(perN('/healthy')).toEqual(once);
    expect(perN('/healthy-2')).toEqual(once);
    expect(perN('/poison')).toEqual(once);
    expect(rx.at('/after-poison')).toHaveLength(0);
  });
});
