import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * forEach (API.md section 3): one row per item of a loop, so an item's progress is one small write
 * and never a rewrite of its execution's record, and one counter row per loop, so finishing an item
 * costs the same whatever the number of items (src/executions/loops). Executions that exist already
 * have no loops: nothing to move.
 */
export class Iterations1764000002180 implements MigrationInterface {
  name = 'Iterations1764000002180';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE loops (
        execution_id uuid NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
        step_id text NOT NULL,
        total int NOT NULL,
        pending int NOT NULL,
        running int NOT NULL DEFAULT 0,
        succeeded int NOT NULL DEFAULT 0,
        failed int NOT NULL DEFAULT 0,
        cancelled int NOT NULL DEFAULT 0,
        concurrency int NOT NULL,
        stop_on_error boolean NOT NULL,
        first_step text NOT NULL,
        main_seq bigint NOT NULL,
        first_error text,
        PRIMARY KEY (execution_id, step_id)
      )`);
    await q.query(`
      CREATE TABLE iterations (
        execution_id uuid NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
        step_id text NOT NULL,
        idx int NOT NULL,
        status text NOT NULL,
        item jsonb,
        steps jsonb NOT NULL DEFAULT '{}',
        output jsonb,
        error text,
        job_id text,
        run_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (execution_id, step_id, idx)
      )`);
    // The reconciler: active items untouched for a while.
    await q.query(
      `CREATE INDEX iterations_active_idx ON iterations (updated_at) WHERE status IN ('running', 'waiting')`,
    );
    // Claiming the next pending items of a loop in item order, and paging items by status.
    await q.query(`CREATE INDEX iterations_claim_idx ON iterations (execution_id, step_id, status, idx)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE iterations`);
    await q.query(`DROP TABLE loops`);
  }
}
