import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bulk operations (API.md §12) and the outbox of `hookflow.execution.failed` events.
 *
 * An operation is a row; the executions it matched are snapshotted into `operation_items` when it
 * is created, and each item is marked in the same transaction as the act on its execution (retry,
 * cancel), so a resumed operation neither skips nor repeats one. A worker holds an operation by a
 * lease (`lease_owner`, `lease_until`), taken with FOR UPDATE SKIP LOCKED.
 *
 * `execution_failures` is written by a trigger in the very transaction that makes an execution
 * `failed` — by the step runner, at birth (a filter that failed), or by any later path — so a process
 * that dies right after that commit loses no failure event: a worker drains the table and publishes
 * each row with an idempotency key, then deletes it. Rows are only written while some flow listens
 * for the event, and never for an execution started by a `hookflow.*` event (the loop guard).
 */
export class BulkOperations1764000002100 implements MigrationInterface {
  name = 'BulkOperations1764000002100';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE operations (
        id uuid PRIMARY KEY,
        action text NOT NULL,
        filter jsonb NOT NULL,
        status text NOT NULL,
        matched int NOT NULL DEFAULT 0,
        done int NOT NULL DEFAULT 0,
        failed int NOT NULL DEFAULT 0,
        actor text NOT NULL,
        lease_owner text,
        lease_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    // The workers' work list: only running operations are in it.
    await q.query(`CREATE INDEX operations_running_idx ON operations (created_at) WHERE status = 'running'`);
    // No foreign key to executions: retention may prune an execution an operation still lists
    // (its act then fails with "not found"), and deletes of executions need not look here.
    await q.query(`
      CREATE TABLE operation_items (
        operation_id uuid NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
        execution_id uuid NOT NULL,
        state text NOT NULL DEFAULT 'pending',
        error text,
        PRIMARY KEY (operation_id, execution_id)
      )`);
    await q.query(
      `CREATE INDEX operation_items_pending_idx ON operation_items (operation_id, execution_id) WHERE state = 'pending'`,
    );

    await q.query(`
      CREATE TABLE execution_failures (
        id bigserial PRIMARY KEY,
        execution_id uuid NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE FUNCTION hookflow_execution_failed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- The loop guard: a run started by one of the engine's own events does not report its failure.
        IF NEW.event->>'type' = 'event' AND coalesce(NEW.event->>'name', '') LIKE 'hookflow.%' THEN
          RETURN NULL;
        END IF;
        IF EXISTS (SELECT 1 FROM flows
                    WHERE event_type = 'hookflow.execution.failed' AND trigger_type = 'event'
                      AND enabled AND deleted_at IS NULL) THEN
          INSERT INTO execution_failures (execution_id) VALUES (NEW.id);
        END IF;
        RETURN NULL;
      END $$`);
    // WHEN is checked without calling the function: an update that does not fail an execution
    // (nearly all of them) costs one comparison.
    await q.query(`
      CREATE TRIGGER executions_failed_at_birth AFTER INSERT ON executions
        FOR EACH ROW WHEN (NEW.status = 'failed') EXECUTE FUNCTION hookflow_execution_failed()`);
    await q.query(`
      CREATE TRIGGER executions_failed AFTER UPDATE OF status ON executions
        FOR EACH ROW WHEN (NEW.status = 'failed' AND OLD.status IS DISTINCT FROM 'failed')
        EXECUTE FUNCTION hookflow_execution_failed()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS executions_failed ON executions`);
    await q.query(`DROP TRIGGER IF EXISTS executions_failed_at_birth ON executions`);
    await q.query(`DROP FUNCTION IF EXISTS hookflow_execution_failed()`);
    await q.query(`DROP TABLE IF EXISTS execution_failures`);
    await q.query(`DROP TABLE IF EXISTS operation_items`);
    await q.query(`DROP TABLE IF EXISTS operations`);
  }
}
