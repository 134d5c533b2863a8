import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1763856000000 implements MigrationInterface {
  name = 'InitialSchema1763856000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE flows (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        description text,
        enabled boolean NOT NULL DEFAULT true,
        version int NOT NULL,
        trigger_type text NOT NULL,
        event_type text,
        token text UNIQUE,
        definition jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await q.query(`CREATE INDEX flows_event_type_idx ON flows (event_type) WHERE deleted_at IS NULL`);
    await q.query(`CREATE INDEX flows_list_idx ON flows (created_at DESC, id DESC) WHERE deleted_at IS NULL`);
    await q.query(`
      CREATE TABLE flow_versions (
        flow_id uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
        version int NOT NULL,
        name text NOT NULL,
        description text,
        definition jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (flow_id, version)
      )`);
    await q.query(`
      CREATE TABLE executions (
        id uuid PRIMARY KEY,
        flow_id uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
        flow_version int NOT NULL,
        status text NOT NULL,
        event jsonb NOT NULL,
        steps jsonb NOT NULL DEFAULT '{}',
        error text,
        depth int NOT NULL DEFAULT 0,
        job_id text,
        run_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX executions_flow_id_idx ON executions (flow_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX executions_list_idx ON executions (created_at DESC, id DESC)`);
    // The reconciler's work list: only active executions are in it, so it stays small.
    await q.query(
      `CREATE INDEX executions_active_idx ON executions (updated_at) WHERE status IN ('queued', 'running', 'waiting')`,
    );
    await q.query(
      `CREATE INDEX executions_finished_idx ON executions (finished_at) WHERE status IN ('succeeded', 'failed', 'filtered', 'cancelled')`,
    );
    await q.query(`
      CREATE TABLE idempotency_keys (
        flow_id uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
        key text NOT NULL,
        execution_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (flow_id, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at)`);
    await q.query(`
      CREATE TABLE events (
        id uuid PRIMARY KEY,
        type text NOT NULL,
        idempotency_key text UNIQUE,
        execution_ids uuid[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE secrets (
        name text PRIMARY KEY,
        value bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        action text NOT NULL,
        target text NOT NULL,
        flow_id uuid,
        before jsonb,
        after jsonb
      )`);
    await q.query(`CREATE INDEX audit_log_flow_idx ON audit_log (flow_id, id DESC)`);
    await q.query(`CREATE INDEX audit_log_action_idx ON audit_log (action, id DESC)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'audit_log',
      'api_keys',
      'secrets',
      'events',
      'idempotency_keys',
      'executions',
      'flow_versions',
      'flows',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
