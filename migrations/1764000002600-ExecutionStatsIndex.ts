import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `GET /flows/{id}/stats` (src/flows/flow-stats.service.ts): runs of one flow by finishedAt. The
 * index holds status and created_at too, so the aggregate is an index-only range scan that never
 * reads the executions' jsonb. Only finished rows are in it. Figures: docs/performance.md
 * ("Flow stats"). Built CONCURRENTLY (outside a transaction), so a large table keeps taking writes.
 */
export class ExecutionStatsIndex1764000002600 implements MigrationInterface {
  name = 'ExecutionStatsIndex1764000002600';
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    // An interrupted concurrent build leaves an invalid index behind: start again from nothing.
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_flow_finished_idx`);
    await q.query(
      `CREATE INDEX CONCURRENTLY executions_flow_finished_idx ON executions (flow_id, finished_at)
         INCLUDE (status, created_at) WHERE finished_at IS NOT NULL`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_flow_finished_idx`);
  }
}
