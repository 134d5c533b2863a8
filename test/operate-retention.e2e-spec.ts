import { ModulesContainer } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { PRUNE_BATCH, RetentionService } from 'src/retention/retention.service';
import { bootApp, TestApp } from './support/app';
import { metricValue, scrape } from './support/operate-metrics';

const DAY = "interval '1 day'";

describe('operate: retention prunes exactly the old finished executions', () => {
  let t: TestApp;
  let db: Client;

  beforeAll(async () => {
    t = await bootApp(); // EXECUTION_RETENTION_DAYS defaults to 30
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await t.close();
  });

  async function newFlow(): Promise<string> {
    const res = await t.api('POST', '/api/v1/flows', {
      name: 'kept or not',
      trigger: { type: 'webhook' },
      steps: [],
    });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  /** One execution row as the engine writes it, aged by hand. */
  async function row(
    flowId: string,
    status: string,
    ageDays: number | null,
    opts: { createdDaysAgo?: number } = {},
  ): Promise<string> {
    const id = randomUUID();
    const created = opts.createdDaysAgo ?? ageDays ?? 0;
    await db.query(
      `INSERT INTO executions (id, flow_id, flow_version, status, event, created_at, updated_at, finished_at, job_id)
       VALUES ($1, $2, 1, $3, '{"id":"e","type":"manual","receivedAt":"2020-01-01T00:00:00Z","body":{}}',
               now() - $4::float8 * ${DAY}, now() - $4::float8 * ${DAY},
               CASE WHEN $5::float8 IS NULL THEN NULL ELSE now() - $5::float8 * ${DAY} END, $6)`,
      [id, flowId, status, created, ageDays, ageDays === null ? `${id}:x:1` : null],
    );
    return id;
  }

  async function remaining(flowId: string): Promise<string[]> {
    const res = await db.query('SELECT id FROM executions WHERE flow_id = $1', [flowId]);
    return res.rows.map((r) => r.id as string).sort();
  }

  it('removes finished executions past the retention, in batches, and keeps active and recent ones', async () => {
    const flowId = await newFlow();
    const gone = [
      await row(flowId, 'succeeded', 40),
      await row(flowId, 'failed', 31),
      await row(flowId, 'filtered', 30.01),
      await row(flowId, 'cancelled', 400),
    ];
    const kept = [
      await row(flowId, 'succeeded', 29.99),
      await row(flowId, 'failed', 1),
      await row(flowId, 'cancelled', 0),
      // Active work is never pruned, however old.
      await row(flowId, 'queued', null, { createdDaysAgo: 90 }),
      await row(flowId, 'running', null, { createdDaysAgo: 90 }),
      await row(flowId, 'waiting', null, { createdDaysAgo: 90 }),
    ];
    // More old rows than one batch holds, so the pruner has to loop.
    const bulk = PRUNE_BATCH * 2 + 500;
    await db.query(
      `INSERT INTO executions (id, flow_id, flow_version, status, event, created_at, updated_at, finished_at)
       SELECT gen_random_uuid(), $1, 1, 'succeeded', '{}'::jsonb, now() - 60 * ${DAY}, now() - 60 * ${DAY}, now() - 50 * ${DAY}
         FROM generate_series(1, $2::int)`,
      [flowId, bulk],
    );
    // Idempotency keys live max(7 days, retention) = 30 days here.
    await db.query(
      `INSERT INTO idempotency_keys (flow_id, key, execution_id, created_at) VALUES
         ($1, 'old', $2, now() - 31 * ${DAY}), ($1, 'recent', $2, now() - 10 * ${DAY})`,
      [flowId, kept[0]],
    );
    const before = await scrape(t.url);

    const result = await t.app.get(RetentionService).pruneOnce();

    expect(result).toEqual({ executions: bulk + gone.length, idempotencyKeys: 1 });
    expect(await remaining(flowId)).toEqual([...kept].sort());
    const keys = await db.query('SELECT key FROM idempotency_keys WHERE flow_id = $1', [flowId]);
    expect(keys.rows.map((r) => r.key)).toEqual(['recent']);
    const after = await scrape(t.url);
    const pruned = (table: string): number =>
      metricValue(after, 'hookflow_retention_pruned_total', { table }) -
      metricValue(before, 'hookflow_retention_pruned_total', { table });
    expect(pruned('executions')).toBe(bulk + gone.length);
    expect(pruned('idempotency_keys')).toBe(1);

    // A second pass finds nothing more.
    expect(await t.app.get(RetentionService).pruneOnce()).toEqual({ executions: 0, idempotencyKeys: 0 });
    // A pruned execution is simply gone from the API.
    expect((await t.api('GET', `/api/v1/executions/${gone[0]}`)).status).toBe(404);
    expect((await t.api('GET', `/api/v1/executions/${kept[0]}`)).status).toBe(200);
  });

  it('keeps idempotency keys at least 7 days even with a shorter retention', async () => {
    const short = await bootApp({ MODE: 'worker', EXECUTION_RETENTION_DAYS: '1' });
    try {
      const flowId = await newFlow();
      const old = await row(flowId, 'succeeded', 2);
      const recent = await row(flowId, 'succeeded', 0.5);
      await db.query(
        `INSERT INTO idempotency_keys (flow_id, key, execution_id, created_at) VALUES
           ($1, 'eight-days', $2, now() - 8 * ${DAY}), ($1, 'three-days', $2, now() - 3 * ${DAY})`,
        [flowId, old],
      );
      const result = await short.app.get(RetentionService).pruneOnce();
      // Rows of the test before are older than one day too; this flow's rows tell exactly.
      expect(result?.executions).toBeGreaterThanOrEqual(1);
      expect(result?.idempotencyKeys).toBeGreaterThanOrEqual(1);
      expect(await remaining(flowId)).toEqual([recent]);
      const keys = await db.query('SELECT key FROM idempotency_keys WHERE flow_id = $1', [flowId]);
      expect(keys.rows.map((r) => r.key)).toEqual(['three-days']);
    } finally {
      await short.close();
    }
  });

  it('runs one pruner at a time across processes', async () => {
    const flowId = await newFlow();
    const old = await row(flowId, 'succeeded', 45);
    // Another process holds the pruning lock: this one skips its turn and deletes nothing.
    const holder = new Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(7346002)');
      expect(await t.app.get(RetentionService).pruneOnce()).toBeNull();
      expect(await remaining(flowId)).toEqual([old]);
      await holder.query('SELECT pg_advisory_unlock(7346002)');
      expect(await t.app.get(RetentionService).pruneOnce()).toEqual({ executions: 1, idempotencyKeys: 0 });
      expect(await remaining(flowId)).toEqual([]);
    } finally {
      await holder.end();
    }
  });

  it('does not prune from an API-only process', async () => {
    const api = await bootApp({ MODE: 'api' });
    try {
      const providers = (app: TestApp): unknown[] =>
        [...app.app.get(ModulesContainer).values()].flatMap((m) => [...m.providers.keys()]);
      expect(providers(t)).toContain(RetentionService);
      expect(providers(api)).not.toContain(RetentionService);
    } finally {
      await api.close();
    }
  });
});
