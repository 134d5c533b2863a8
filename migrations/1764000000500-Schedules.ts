import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row per enabled schedule-triggered flow: the next planned fire, persisted so that a Redis wipe
 * loses nothing and workers agree on it (they claim due rows with FOR UPDATE SKIP LOCKED).
 */
export class Schedules1764000000500 implements MigrationInterface {
  name = 'Schedules1764000000500';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE schedules (
        flow_id uuid PRIMARY KEY REFERENCES flows (id) ON DELETE CASCADE,
        version int NOT NULL,
        cron text NOT NULL,
        timezone text NOT NULL,
        next_fire_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // The scheduler's work list; a schedule with no future fire (null) is not in it.
    await q.query(
      `CREATE INDEX schedules_next_fire_idx ON schedules (next_fire_at) WHERE next_fire_at IS NOT NULL`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS schedules`);
  }
}
