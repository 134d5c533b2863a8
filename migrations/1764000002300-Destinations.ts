import { MigrationInterface, QueryRunner } from 'typeorm';

/** Destinations (API.md §10): their definitions; the limiter's live state is kept in Redis. */
export class Destinations1764000002300 implements MigrationInterface {
  name = 'Destinations1764000002300';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE destinations (
        name text PRIMARY KEY,
        match jsonb NOT NULL,
        rate_limit jsonb,
        concurrency integer,
        circuit_breaker jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS destinations`);
  }
}
