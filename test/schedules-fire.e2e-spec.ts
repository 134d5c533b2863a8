import { Client } from 'pg';
import { bootApp, TestApp } from './support/app';
import { waitFor } from './support/wait-for';

const every2s = {
  name: 'every 2 s',
  trigger: { type: 'schedule', cron: '*/2 * * * * *', payload: { report: 'tick' } },
  steps: [{ id: 'echo', type: 'transform', expression: "{ 'at': event.scheduledAt, 'body': event.body }" }],
};

describe('schedule triggers with two instances running', () => {
  let a: TestApp;
  let b: TestApp;
  let db: Client;
  /** A flow on the same 2-second cron that stays enabled: proof that the scheduler kept firing. */
  let sentinel: string;

  beforeAll(async () => {
    a = await bootApp();
    b = await bootApp();
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    const created = await a.api('POST', '/api/v1/flows', { ...every2s, name: 'sentinel' });
    expect(created.status).toBe(201);
    sentinel = created.body.id;
  });
  afterAll(async () => {
    await a.api('DELETE', `/api/v1/flows/${sentinel}`);
    await db.end();
    await b.close();
    await a.close();
  });

  async function executionsOf(flowId: string): Promise<any[]> {
    const res = await a.api('GET', `/api/v1/executions?flowId=${flowId}&limit=200`);
    expect(res.status).toBe(200);
    const full = await Promise.all(
      res.body.items.map(async (e: any) => (await a.api('GET', `/api/v1/executions/${e.id}`)).body),
    );
    return full.sort((x, y) => Date.parse(x.event.scheduledAt) - Date.parse(y.event.scheduledAt));
  }

  /**
   * Until the sentinel has been fired for two planned times after `since`: a fire of a stopped flow
   * on the same cron would have been written by those same passes (no fixed sleep to guess at).
   */
  async function twoFiresAfter(since: number): Promise<void> {
    await waitFor(
      async () => {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM executions
            WHERE flow_id = $1 AND (event->>'scheduledAt')::timestamptz > $2`,
          [sentinel, new Date(since)],
        );
        return rows[0].n >= 2;
      },
      15_000,
      200,
    );
  }

  async function scheduleRow(flowId: string): Promise<any> {
    const { rows } = await db.query('SELECT * FROM schedules WHERE flow_id = $1', [flowId]);
    return rows[0] ?? null;
  }

  it('fires a seconds-field cron once per planned time, on time, and stops at once when disabled', async () => {
    const created = await a.api('POST', '/api/v1/flows', every2s);
    expect(created.status).toBe(201);
    const id = created.body.id;
    const createdAt = Date.now();
    await waitFor(async () => (await executionsOf(id)).length >= 4, 20_000, 200);

    const disabled = await b.api('PATCH', `/api/v1/flows/${id}`, { enabled: false });
    expect(disabled.status).toBe(200);
    const atDisable = await executionsOf(id);
    await twoFiresAfter(Date.now());
    const later = await executionsOf(id);
    expect(later.map((e) => e.id)).toEqual(atDisable.map((e) => e.id));
    expect(await scheduleRow(id)).toBeNull();

    const planned = later.map((e) => Date.parse(e.event.scheduledAt));
    expect(new Set(planned).size).toBe(planned.length);
    for (const [i, at] of planned.entries()) {
      expect(at % 2000).toBe(0);
      if (i > 0) expect(at - planned[i - 1]).toBe(2000);
    }
    expect(planned[0]).toBeGreaterThan(createdAt - 2000);
    await waitFor(async () => (await executionsOf(id)).every((e) => e.status === 'succeeded'), 10_000);
    for (const e of await executionsOf(id)) {
      expect(e.event).toEqual({
        id: expect.any(String),
        type: 'schedule',
        receivedAt: expect.any(String),
        scheduledAt: expect.any(String),
        body: { report: 'tick' },
      });
      const late = Date.parse(e.event.receivedAt) - Date.parse(e.event.scheduledAt);
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThan(2000);
      expect(e.steps[0].output).toEqual({ at: e.event.scheduledAt, body: { report: 'tick' } });
    }
  });

  it('resumes when enabled again, stops on a PUT to another cron, and leaves no row when deleted', async () => {
    const created = await a.api('POST', '/api/v1/flows', { ...every2s, enabled: false });
    const id = created.body.id;
    expect(await scheduleRow(id)).toBeNull();
    const enabledAt = Date.now();
    expect((await a.api('PATCH', `/api/v1/flows/${id}`, { enabled: true })).status).toBe(200);
    expect(await scheduleRow(id)).not.toBeNull();
    await waitFor(async () => (await executionsOf(id)).length >= 2, 15_000, 200);
    for (const e of await executionsOf(id)) {
      expect(Date.parse(e.event.scheduledAt)).toBeGreaterThan(enabledAt - 2000);
    }

    const put = await b.api('PUT', `/api/v1/flows/${id}`, {
      ...every2s,
      trigger: { type: 'schedule', cron: '0 0 1 1 *' },
    });
    expect(put.status).toBe(200);
    const row = await scheduleRow(id);
    // Enabling does not make a version; the PUT does.
    expect(row).toMatchObject({ version: 2, cron: '0 0 1 1 *', timezone: 'UTC' });
    expect(new Date(row.next_fire_at).toISOString()).toBe(
      `${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z`,
    );
    const atPut = (await executionsOf(id)).length;
    await twoFiresAfter(Date.now());
    expect(await executionsOf(id)).toHaveLength(atPut);

    expect((await a.api('DELETE', `/api/v1/flows/${id}`)).status).toBe(204);
    expect(await scheduleRow(id)).toBeNull();
  });

  it('stops firing at once when deleted', async () => {
    const created = await a.api('POST', '/api/v1/flows', every2s);
    const id = created.body.id;
    await waitFor(async () => (await executionsOf(id)).length >= 1, 10_000, 200);
    expect((await b.api('DELETE', `/api/v1/flows/${id}`)).status).toBe(204);
    const atDelete = await db.query('SELECT count(*)::int AS n FROM executions WHERE flow_id = $1', [id]);
    await twoFiresAfter(Date.now());
    const after = await db.query('SELECT count(*)::int AS n FROM executions WHERE flow_id = $1', [id]);
    expect(after.rows[0].n).toBe(atDelete.rows[0].n);
    expect(await scheduleRow(id)).toBeNull();
  });

  it('plans a weekday morning cron in its time zone, and keeps the plan across a rename', async () => {
    const created = await a.api('POST', '/api/v1/flows', {
      name: 'morning report',
      trigger: { type: 'schedule', cron: '0 9 * * 1-5', timezone: 'America/New_York' },
      steps: [],
    });
    expect(created.status).toBe(201);
    expect(created.body.trigger).toEqual({
      type: 'schedule',
      cron: '0 9 * * 1-5',
      timezone: 'America/New_York',
    });
    const id = created.body.id;
    const row = await scheduleRow(id);
    const next = new Date(row.next_fire_at);
    const local = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    }).format(next);
    expect(local).toMatch(/^(Mon|Tue|Wed|Thu|Fri),? 09:00:00$/);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThan(4 * 86_400_000);

    expect((await a.api('PATCH', `/api/v1/flows/${id}`, { name: 'morning report v2' })).status).toBe(200);
    const renamed = await scheduleRow(id);
    expect(renamed.version).toBe(2);
    expect(new Date(renamed.next_fire_at).getTime()).toBe(next.getTime());
  });

  it('refuses a bad cron or time zone with 400 naming the field', async () => {
    const cron = await a.api('POST', '/api/v1/flows', {
      name: 'bad',
      trigger: { type: 'schedule', cron: '61 * * * *' },
      steps: [],
    });
    expect(cron.status).toBe(400);
    expect(cron.body.message).toEqual([expect.stringContaining('cron minute field "61"')]);
    const zone = await a.api('POST', '/api/v1/flows', {
      name: 'bad',
      trigger: { type: 'schedule', cron: '0 9 * * *', timezone: 'Mars/Olympus' },
      steps: [],
    });
    expect(zone.status).toBe(400);
    expect(zone.body.message).toEqual([expect.stringContaining('trigger.timezone "Mars/Olympus"')]);
  });
});
