import { DataSource } from 'typeorm';
import { LoopCounts, settleSql } from 'src/executions/loops/loop-sql';
import { bootApp, fire, TestApp } from './support/app';
import { createFlow } from './support/flow-runs';
import { Receiver } from './support/receiver';
import { waitFor } from './support/wait-for';

// Claiming the next items of a forEach costs the same whatever the number of items claimed before
// (docs/performance.md, "Fan-out"). Measured in pages read (EXPLAIN's buffers), not in time: the claim
// once scanned an index entry per earlier item and ran its pick once per pending item — 10,000 items
// went at ~115 items/s, the end of the loop at 180 ms per claim.

interface PlanNode {
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
}

describe('forEach: claiming items late in a long loop', () => {
  let t: TestApp;
  let rx: Receiver;
  let db: DataSource;

  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await bootApp();
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t.close();
    await rx.stop();
  });

  it('reads a bounded number of pages when 4,000 of 5,000 items were claimed before', async () => {
    // The first item hangs, so the loop stays put while the test moves it along by hand.
    rx.script('/claim-hang', [{ status: 200, delayMs: 5_000 }]);
    const { hook } = await createFlow(t, {
      steps: [
        {
          id: 'many',
          type: 'forEach',
          items: '[0..4999]',
          maxItems: 5000,
          steps: [
            { id: 'call', type: 'http', method: 'POST', url: `${rx.url}/claim-hang`, timeoutMs: 10_000 },
          ],
        },
      ],
    });
    const accepted = await fire(hook, {});
    const id = accepted.body.executionId as string;
    await waitFor(() => rx.at('/claim-hang').length === 1, 10_000);

    // As if items 1 to 3,999 had run: each left its old 'pending' index entry behind, as a real run does.
    for (let lo = 1; lo < 4000; lo += 500) {
      await db.query(
        `UPDATE iterations SET status = 'running' WHERE execution_id = $1 AND idx BETWEEN $2 AND $3`,
        [id, lo, Math.min(lo + 499, 3999)],
      );
      await db.query(
        `UPDATE iterations SET status = 'succeeded' WHERE execution_id = $1 AND idx BETWEEN $2 AND $3`,
        [id, lo, Math.min(lo + 499, 3999)],
      );
    }
    await db.query(
      `UPDATE loops SET pending = 1000, succeeded = 3999, next_idx = 4000 WHERE execution_id = $1`,
      [id],
    );
    const [loop] = await db.query<LoopCounts[]>(`SELECT * FROM loops WHERE execution_id = $1`, [id]);

    const runner = db.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const [row] = (await runner.query(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${settleSql({ ...loop, running: 0 }, false, 16)}`,
      )) as Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>;
      const plan = row['QUERY PLAN'][0].Plan;
      const pages = (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0);
      // 16 items claimed: a few pages per item and the index descents, not one per earlier item.
      expect(pages).toBeLessThan(400);
      const claimed = (await runner.query(
        `SELECT idx FROM iterations WHERE execution_id = $1 AND status = 'running' AND idx >= 4000 ORDER BY idx`,
        [id],
      )) as Array<{ idx: number }>;
      expect(claimed.map((r) => r.idx)).toEqual(Array.from({ length: 16 }, (_, i) => 4000 + i));
      const [after] = (await runner.query(
        `SELECT next_idx, pending, running FROM loops WHERE execution_id = $1`,
        [id],
      )) as Array<{ next_idx: number; pending: number; running: number }>;
      expect(after).toEqual({ next_idx: 4016, pending: 984, running: 16 });
    } finally {
      await runner.rollbackTransaction().catch(() => undefined);
      await runner.release();
    }
    await t.api('POST', `/api/v1/executions/${id}/cancel`);
  });
});
