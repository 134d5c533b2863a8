import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trigger `batch` (API.md §3): a group of events is one execution, `batching` until it closes.
 * - executions.batch_key: the open group's name (`<flow id>/<version>/<digest of the key's value>`),
 *   batch_count its members so far, batch_closes_at when it closes by time (NULL for every other row).
 * - executions_batch_open_idx: at most one open (`batching`) group per name — the row every member of
 *   a group locks to join it, and what makes two processes that see no group create only one.
 * - executions_batch_due_idx: open groups by closing time, for the reconciler's sweep.
 * - batch_members: each member's whole event, committed before its 202; folded into the execution's
 *   `event` when the group closes (and deleted then), or with the execution by retention.
 * The indexes cover `batching` rows only: they stay as small as the open groups.
 */
export class TriggerBatches1764000002700 implements MigrationInterface {
  name = 'TriggerBatches1764000002700';
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE executions ADD COLUMN IF NOT EXISTS batch_key text`);
    await q.query(`ALTER TABLE executions ADD COLUMN IF NOT EXISTS batch_count int`);
    await q.query(`ALTER TABLE executions ADD COLUMN IF NOT EXISTS batch_closes_at timestamptz`);
    await q.query(
      `CREATE TABLE IF NOT EXISTS batch_members (
         execution_id uuid NOT NULL,
         seq int NOT NULL,
         event jsonb NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         CONSTRAINT batch_members_pkey PRIMARY KEY (execution_id, seq),
         CONSTRAINT batch_members_execution_id_fkey FOREIGN KEY (execution_id)
           REFERENCES executions(id) ON DELETE CASCADE)`,
    );
    // An interrupted concurrent build leaves an invalid index behind: start again from nothing.
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_batch_open_idx`);
    await q.query(
      `CREATE UNIQUE INDEX CONCURRENTLY executions_batch_open_idx ON executions (batch_key)
        WHERE status = 'batching'`,
    );
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_batch_due_idx`);
    await q.query(
      `CREATE INDEX CONCURRENTLY executions_batch_due_idx ON executions (batch_closes_at)
        WHERE status = 'batching'`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_batch_due_idx`);
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_batch_open_idx`);
    await q.query(`DROP TABLE IF EXISTS batch_members`);
    await q.query(`ALTER TABLE executions DROP COLUMN IF EXISTS batch_closes_at`);
    await q.query(`ALTER TABLE executions DROP COLUMN IF EXISTS batch_count`);
    await q.query(`ALTER TABLE executions DROP COLUMN IF EXISTS batch_key`);
  }
}
