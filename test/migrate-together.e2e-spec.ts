import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ensureDatabase, migrate } from 'src/database/database-bootstrap';

// Instances booting together on a fresh database take turns at the migrations (API.md §8). One
// migration builds an index CONCURRENTLY, which waits for every open snapshot; an instance blocked
// in pg_advisory_lock held one, so the boots waited on each other for ever (found by booting one
// api and two worker processes at once: `BENCH_SPLIT=2 npm run bench`).
describe('migrations of instances booting together', () => {
  const name = `hookflow_migrate_${randomBytes(4).toString('hex')}`;
  const server = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const url = Object.assign(new URL(server.toString()), { pathname: `/${name}` }).toString();
  const admin = Object.assign(new URL(server.toString()), { pathname: '/postgres' }).toString();

  afterAll(async () => {
    const db = new Client({ connectionString: admin });
    await db.connect();
    // FORCE: on the old code the migrations are still waiting; this ends them.
    await db.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await db.end();
  });

  it('three instances migrate one fresh database in turn, each migration applied once', async () => {
    await ensureDatabase(url);
    const logs: string[][] = [[], [], []];
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('not migrated within 60 s: the instances wait on each other')),
        60_000,
      );
    });
    try {
      await Promise.race([Promise.all(logs.map((l) => migrate(url, (m) => l.push(m)))), bound]);
    } finally {
      clearTimeout(timer);
    }
    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query<{ name: string; n: string }>(
        'SELECT name, count(*) AS n FROM migrations GROUP BY name',
      );
      const applied = logs.flat().filter((m) => m.startsWith('applied migration'));
      expect(rows.length).toBeGreaterThan(10);
      expect(rows.every((r) => r.n === '1')).toBe(true);
      // Each migration was applied by exactly one of the three.
      expect(applied.length).toBe(rows.length);
      expect(logs.flat().some((m) => m.includes('waiting for it'))).toBe(true);
    } finally {
      await db.end();
    }
  }, 90_000);
});
