import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trigger `batch`: `executions.batch_max` holds a group's `maxItems`, and the open-group index
 * (executions_batch_taking_idx, in place of executions_batch_open_idx) covers only groups that still
 * take events (`batch_count < batch_max`). A full group leaves it at once, so
 * the next event of its key opens a new group while the full one is being closed, and a join can be
 * one autocommitted statement instead of a transaction that holds the row across round trips.
 */
export class TriggerBatchMax1764000002710 implements MigrationInterface {
  name = 'TriggerBatchMax1764000002710';
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE executions ADD COLUMN IF NOT EXISTS batch_max int`);
    // Groups opened before this column: their maxItems from the flow version they gather for.
    await q.query(
      `UPDATE executions e SET batch_max = COALESCE((v.definition->'trigger'->'batch'->>'maxItems')::int, 1000)
         FROM flow_versions v
        WHERE e.status = 'batching' AND e.batch_max IS NULL AND v.flow_id = e.flow_id AND v.version = e.flow_version`,
    );
    // The new index is built before the old one goes, so one open group per key holds throughout.
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_batch_taking_idx`);
    await q.query(
      `CREATE UNIQUE INDEX CONCURRENTLY executions_batch_taking_idx ON executions (batch_key)
        WHERE status = 'batching' AND batch_count < batch_max`,
    );
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_batch_open_idx`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS executions_batch_open_idx ON executions (batch_key)
        WHERE status = 'batching'`,
    );
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_batch_taking_idx`);
    await q.query(`ALTER TABLE executions DROP COLUMN IF EXISTS batch_max`);
  }
}
