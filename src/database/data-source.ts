import { join } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { ENTITIES } from 'src/database/entities';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/hookflow';

// Compiled, migrations live in dist/migrations; from TypeScript (CLI, tests) in the top-level folder.
const migrationsGlob = __filename.endsWith('.ts')
  ? join(__dirname, '..', '..', 'migrations', '*.ts')
  : join(__dirname, '..', 'migrations', '*.js');

/** The one TypeORM options object, used by the app and by the migration CLI. */
export function dataSourceOptions(
  url: string = process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: [migrationsGlob],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error'],
    extra: { max: 20, connectionTimeoutMillis: 5000 },
  };
}

// For the TypeORM CLI (`npm run migration:run`).
export default new DataSource(dataSourceOptions());
