import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Flow-level `concurrency` (API.md §3): `executions.concurrency_key` names the group an execution of
 * such a flow counts against (NULL for every other flow, so their rows enter neither index below);
 * `concurrency_seq` its place in line, from a sequence: a row written after another one committed
 * always comes later (a client clock's milliseconds can tie, and differ between processes).
 * - executions_concurrency_queue_idx: the line of executions waiting for a slot (queued, no job yet),
 *   in acceptance order — what a claim takes from, and what the reconciler scans for keys.
 * - executions_concurrency_active_idx: the executions of a key that are not final — what a claim
 *   counts to find the room left.
 * Built CONCURRENTLY (outside a transaction), so a large table keeps taking writes meanwhile.
 */
export class ExecutionConcurrency1764000002400 implements MigrationInterface {
  name = 'ExecutionConcurrency1764000002400';
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE executions ADD COLUMN IF NOT EXISTS concurrency_key text`);
    await q.query(`ALTER TABLE executions ADD COLUMN IF NOT EXISTS concurrency_seq bigint`);
    await q.query(`CREATE SEQUENCE IF NOT EXISTS executions_concurrency_seq`);
    // An interrupted concurrent build leaves an invalid index behind: start again from nothing.
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_concurrency_queue_idx`);
    await q.query(
      `CREATE INDEX CONCURRENTLY executions_concurrency_queue_idx ON executions (concurrency_key, concurrency_seq)
        WHERE concurrency_key IS NOT NULL AND status = 'queued' AND job_id IS NULL`,
    );
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_concurrency_active_idx`);
    await q.query(
      `CREATE INDEX CONCURRENTLY executions_concurrency_active_idx ON executions (concurrency_key)
        WHERE concurrency_key IS NOT NULL AND status IN ('queued', 'running', 'waiting')`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_concurrency_active_idx`);
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS executions_concurrency_queue_idx`);
    await q.query(`ALTER TABLE executions DROP COLUMN IF EXISTS concurrency_seq`);
    await q.query(`DROP SEQUENCE IF EXISTS executions_concurrency_seq`);
    await q.query(`ALTER TABLE executions DROP COLUMN IF EXISTS concurrency_key`);
  }
}
