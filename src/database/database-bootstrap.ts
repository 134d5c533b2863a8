import { setTimeout as delay } from 'node:timers/promises';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from 'src/database/data-source';

/** Any fixed number: every hookflow instance that boots takes the same lock before migrating. */
const MIGRATION_LOCK = 7_346_001;

/** Creates the database when it is missing and the role may (two instances racing is fine). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) return;
  const probe = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await probe.connect();
    return;
  } catch (e) {
    if ((e as { code?: string }).code !== '3D000') throw e; // 3D000: database does not exist
  } finally {
    await probe.end().catch(() => undefined);
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (e) {
    if ((e as { code?: string }).code !== '42P04') throw e; // created meanwhile by another instance
  } finally {
    await client.end();
  }
}

/** How often an instance asks again for the migration lock while another one migrates. */
const LOCK_POLL_MS = 200;

/**
 * Waits for the migration lock by asking again and again, never by blocking in pg_advisory_lock: a
 * session blocked there holds a snapshot, and a migration that builds an index CONCURRENTLY waits
 * for every snapshot to end — so instances booting together waited on each other for ever.
 */
async function takeMigrationLock(lock: Client, log: (msg: string) => void): Promise<void> {
  let waiting = false;
  for (;;) {
    const { rows } = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
      MIGRATION_LOCK,
    ]);
    if (rows[0].ok) return;
    if (!waiting) log('another instance is migrating the database; waiting for it');
    waiting = true;
    await delay(LOCK_POLL_MS);
  }
}

/** Applies pending migrations under a PostgreSQL advisory lock, so instances booting together take turns. */
export async function migrate(url: string, log: (msg: string) => void = () => undefined): Promise<void> {
  const lock = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await lock.connect();
  try {
    await takeMigrationLock(lock, log);
    const ds = new DataSource({ ...dataSourceOptions(url), logging: false });
    await ds.initialize();
    try {
      const applied = await ds.runMigrations({ transaction: 'each' });
      for (const m of applied) log(`applied migration ${m.name}`);
    } finally {
      await ds.destroy();
    }
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await lock.end();
  }
}
