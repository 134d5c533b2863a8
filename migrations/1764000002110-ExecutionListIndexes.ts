import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `GET /executions?status=…` (and with `flowId`, `from`, `to`): one ordered index scan per status
 * (src/executions/execution-filter.ts, pageSql). Without these, a page of a status that is rare in
 * the range walks the range through the createdAt index and the heap. EXPLAIN ANALYZE of the page
 * query (limit 51) on 1,000,000 executions (5 flows, 85 % succeeded, 6 % failed, 0.5 % queued, 0.5 %
 * running, over 30 days); the old query → this query without these indexes → with them, medians of 5:
 *   flowId + status=queued + 20-day range:       101–159 ms → 28.7 ms (cold 847 ms) → 0.13 ms
 *   flowId + status=failed + 3-day range:          5.6–8.3 ms → 0.49 ms (cold 42 ms) → 0.12 ms
 *   flowId + status=failed,cancelled + range:     (one status only) → 11.9 ms → 0.13 ms
 *   status=running, createdAt older than 20 days:  557 ms → 4.7 ms → 0.08 ms
 *   status=failed only:                            1.5–2.3 ms → 0.31 ms → 0.26 ms
 * Cost: two more index entries per row version written. Built CONCURRENTLY (outside a
 * transaction), so a large table keeps taking writes meanwhile.
 */
export class ExecutionListIndexes1764000002110 implements MigrationInterface {
  name = 'ExecutionListIndexes1764000002110';
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    // An interrupted concurrent build leaves an invalid index behind: start again from nothing.
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_status_list_idx`);
    await q.query(
      `CREATE INDEX CONCURRENTLY executions_status_list_idx ON executions (status, created_at DESC, id DESC)`,
    );
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_flow_status_list_idx`);
    await q.query(
      `CREATE INDEX CONCURRENTLY executions_flow_status_list_idx ON executions (flow_id, status, created_at DESC, id DESC)`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_flow_status_list_idx`);
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_status_list_idx`);
  }
}
