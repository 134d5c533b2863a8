import { MigrationInterface, QueryRunner } from 'typeorm';

/** The audit log names actors by API key name, so two active keys may not share one. */
export class ApiKeyActiveName1764000000600 implements MigrationInterface {
  name = 'ApiKeyActiveName1764000000600';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE UNIQUE INDEX api_keys_active_name_idx ON api_keys (name) WHERE revoked_at IS NULL`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS api_keys_active_name_idx`);
  }
}
