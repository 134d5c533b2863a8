import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row whose `version` every secret write bumps in its own transaction. The step runner reads it
 * with each batched load (a free column), so a process or thread knows at once when its decrypted
 * copy of the secrets is older than what was committed.
 */
export class SecretsVersion1764000000760 implements MigrationInterface {
  name = 'SecretsVersion1764000000760';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE secrets_version (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        version integer NOT NULL
      )`);
    await q.query(`INSERT INTO secrets_version (one, version) VALUES (true, 1)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS secrets_version`);
  }
}
