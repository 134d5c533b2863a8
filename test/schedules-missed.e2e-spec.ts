import { Client } from 'pg';
import { bootApp, TestApp } from './support/app';
import { sleep, waitFor } from './support/wait-for';
import { executionCount } from './support/flow-state';

/**
 * Two scheduler passes and then some (a pass sleeps at most 500 ms). Used only where the claim is
 * that nothing happens and no stored state could show it: a process with no scheduler, or passes
 * over schedules already moved to tomorrow.
 */
const TWO_PASSES_MS = 1200;

/** A daily UTC cron (with seconds) whose planned time of day is `at`. */
function dailyAt(at: Date): string {
  return `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
}

describe('schedule fires missed while no worker ran', () => {
  let api: TestApp;
  let worker: TestApp | undefined;
  let db: Client;

  beforeAll(async () => {
    // MODE=api keeps the schedules table up to date but fires nothing: "every worker is down".
    api = await bootApp({ MODE: 'api' });
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await worker?.close();
    await api.close();
  });

  const count = (flowId: string): Promise<number> => executionCount(db, flowId);

  async function nextFire(flowId: string): Promise<Date> {
    const { rows } = await db.query('SELECT next_fire_at FROM schedules WHERE flow_id = $1', [flowId]);
    return new Date(rows[0].next_fire_at);
  }

  it('runs a fire missed by less than the window once on start, and skips an older one', async () => {
    const now = Math.floor(Date.now() / 1000) * 1000;
    const recentAt = new Date(now - 60_000);
    const oldAt = new Date(now - 10 * 60_000);
    const create = async (name: string, at: Date): Promise<string> => {
      const res = await api.api('POST', '/api/v1/flows', {
        name,
        trigger: { type: 'schedule', cron: dailyAt(at), payload: { name } },
        steps: [{ id: 'echo', type: 'transform', expression: 'event.scheduledAt' }],
      });
      expect(res.status).toBe(201);
      // Created now, the flow's first fire is tomorrow; put it back to when the workers were down.
      expect((await nextFire(res.body.id)).getTime()).toBe(at.getTime() + 86_400_000);
      await db.query('UPDATE schedules SET next_fire_at = $2 WHERE flow_id = $1', [res.body.id, at]);
      return res.body.id as string;
    };
    const recent = await create('recent', recentAt);
    const old = await create('old', oldAt);

    // The API process never fires, however long it runs: it has no scheduler to leave a trace.
    await sleep(TWO_PASSES_MS);
    expect(await count(recent)).toBe(0);
    expect(await count(old)).toBe(0);

    worker = await bootApp({ MODE: 'all' });
    await waitFor(async () => (await count(recent)) === 1, 10_000);
    await waitFor(async () => (await nextFire(old)).getTime() > Date.now(), 10_000);

    const list = await api.api('GET', `/api/v1/executions?flowId=${recent}`);
    expect(list.body.items).toHaveLength(1);
    const ex = await waitFor(async () => {
      const res = await api.api('GET', `/api/v1/executions/${list.body.items[0].id}`);
      return res.body.status === 'succeeded' ? res.body : null;
    }, 10_000);
    expect(ex.event).toMatchObject({
      type: 'schedule',
      scheduledAt: recentAt.toISOString(),
      body: { name: 'recent' },
    });
    expect(ex.steps[0].output).toBe(recentAt.toISOString());
    expect((await nextFire(recent)).getTime()).toBe(recentAt.getTime() + 86_400_000);

    expect(await count(old)).toBe(0);
    expect((await nextFire(old)).getTime()).toBe(oldAt.getTime() + 86_400_000);
    // Still exactly one after further passes (both rows are due tomorrow, as checked above).
    await sleep(TWO_PASSES_MS);
    expect(await count(recent)).toBe(1);
    expect(await count(old)).toBe(0);
  });

  it('catches up every 2-second fire of the last window, each once, after a short outage', async () => {
    await worker?.close();
    worker = undefined;
    const res = await api.api('POST', '/api/v1/flows', {
      name: 'catch up',
      trigger: { type: 'schedule', cron: '*/2 * * * * *' },
      steps: [],
    });
    const id = res.body.id as string;
    const downSince = new Date(Math.floor((Date.now() - 10_000) / 2000) * 2000);
    await db.query('UPDATE schedules SET next_fire_at = $2 WHERE flow_id = $1', [id, downSince]);

    worker = await bootApp({ MODE: 'all' });
    const found = await waitFor(async () => {
      const r = await db.query(
        `SELECT event->>'scheduledAt' AS at FROM executions WHERE flow_id = $1 ORDER BY 1`,
        [id],
      );
      return r.rows.length >= 7 ? r : null;
    }, 15_000);
    const planned = found.rows.map((r: { at: string }) => Date.parse(r.at));
    expect(planned[0]).toBe(downSince.getTime());
    expect(new Set(planned).size).toBe(planned.length);
    for (let i = 1; i < planned.length; i++) expect(planned[i] - planned[i - 1]).toBe(2000);
    expect((await api.api('DELETE', `/api/v1/flows/${id}`)).status).toBe(204);
  });
});
