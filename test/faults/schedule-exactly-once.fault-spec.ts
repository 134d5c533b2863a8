import { Client } from 'pg';
import { bootApp, TestApp } from '../support/app';
import { EngineProcess } from '../support/engine-process';
import { sleep, waitFor } from '../support/wait-for';

/** How long the two workers race for the same 2-second schedule. */
const RACE_MS = 16_000;

describe('a 2-second schedule with two worker processes', () => {
  let api: TestApp;
  let db: Client;
  const workers: EngineProcess[] = [];

  beforeAll(async () => {
    api = await bootApp({ MODE: 'api' });
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await db.end();
    await api.close();
  });

  async function plannedTimes(flowId: string): Promise<Array<{ at: string; n: number }>> {
    const { rows } = await db.query(
      `SELECT event->>'scheduledAt' AS at, count(*)::int AS n FROM executions
        WHERE flow_id = $1 GROUP BY 1 ORDER BY 1`,
      [flowId],
    );
    return rows;
  }

  it('runs every planned time exactly once, and nothing after the flow is disabled', async () => {
    const env = { MODE: 'worker', PORT: '0' };
    workers.push(await new EngineProcess(env).start(), await new EngineProcess(env).start());
    const created = await api.api('POST', '/api/v1/flows', {
      name: 'race',
      trigger: { type: 'schedule', cron: '*/2 * * * * *' },
      steps: [{ id: 'echo', type: 'transform', expression: 'event.scheduledAt' }],
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    await sleep(RACE_MS);
    expect((await api.api('PATCH', `/api/v1/flows/${id}`, { enabled: false })).status).toBe(200);
    const atDisable = await plannedTimes(id);
    await sleep(4500);
    const fires = await plannedTimes(id);
    expect(fires).toEqual(atDisable);

    // About RACE_MS / 2000 planned times, each run exactly once, none missing in between.
    expect(fires.length).toBeGreaterThanOrEqual(RACE_MS / 2000 - 2);
    expect(fires.filter((f) => f.n !== 1)).toEqual([]);
    const planned = fires.map((f) => Date.parse(f.at));
    for (let i = 1; i < planned.length; i++) expect(planned[i] - planned[i - 1]).toBe(2000);

    // Every run finished, and neither worker logged a failed pass.
    await waitFor(async () => {
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM executions WHERE flow_id = $1 AND status <> 'succeeded'`,
        [id],
      );
      return rows[0].n === 0;
    }, 15_000);
    for (const w of workers) expect(w.output).not.toMatch(/scheduler pass failed/);
  });
});
