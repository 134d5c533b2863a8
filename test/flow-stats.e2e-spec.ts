import { DataSource } from 'typeorm';
import { FlowStatsService } from 'src/flows/flow-stats.service';
import { bootApp, TestApp } from './support/app';
import { createFlow, finished } from './support/flow-runs';
import { Receiver } from './support/receiver';
import { waitFor } from './support/wait-for';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const MINUTE = 60_000;

/** percentile_cont as PostgreSQL computes it: linear interpolation between the sorted values. */
function percentile(sorted: number[], p: number): number {
  const at = p * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

describe('GET /flows/{id}/stats', () => {
  let t: TestApp;
  let rx: Receiver;
  let flowId: string;
  /** The flow's executions as GET /executions/{id} answers them once final. */
  const runs: any[] = [];
  let from: string;
  let to: string;

  beforeAll(async () => {
    rx = await new Receiver().start();
    rx.script('/ok', [{ status: 200, body: { ok: true } }]);
    rx.script('/bad', [{ status: 500, body: { error: 'down' } }]);
    t = await bootApp();
    from = new Date(Date.now() - MINUTE).toISOString();
    const flow = await createFlow(t, {
      name: 'e2e stats',
      filter: "event.body.path != 'skip'",
      steps: [
        { id: 'hold', type: 'delay', ms: 600_000, if: 'event.body.hold = true' },
        {
          id: 'send',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/{{ event.body.path }}`,
          retry: { attempts: 1 },
        },
      ],
    });
    flowId = flow.id;
    const payloads = [
      ...Array.from({ length: 5 }, () => ({ path: 'ok' })),
      ...Array.from({ length: 3 }, () => ({ path: 'bad' })),
      ...Array.from({ length: 2 }, () => ({ path: 'skip' })),
    ];
    const ids: string[] = [];
    for (const payload of payloads) {
      const res = await t.api('POST', `/api/v1/flows/${flowId}/run`, { payload });
      expect(res.status).toBe(202);
      ids.push(res.body.executionId as string);
    }
    // One held by the delay step, then cancelled.
    const held = await t.api('POST', `/api/v1/flows/${flowId}/run`, { payload: { path: 'ok', hold: true } });
    expect(held.status).toBe(202);
    await waitFor(async () => {
      const ex = await t.api('GET', `/api/v1/executions/${held.body.executionId}`);
      return ex.body?.status === 'waiting';
    }, 20_000);
    expect((await t.api('POST', `/api/v1/executions/${held.body.executionId}/cancel`)).status).toBe(200);
    ids.push(held.body.executionId as string);
    for (const id of ids) runs.push(await finished(t, id, 30_000));
    to = new Date(Date.now() + MINUTE).toISOString();
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await rx?.stop();
  });

  it('has the runs it is about: 5 succeeded, 3 failed (500, retries off), 2 filtered, 1 cancelled', () => {
    const count = (s: string) => runs.filter((r) => r.status === s).length;
    expect([count('succeeded'), count('failed'), count('filtered'), count('cancelled')]).toEqual([
      5, 3, 2, 1,
    ]);
    expect(rx.at('/bad')).toHaveLength(3);
  });

  it('counts each run in the minute bucket of its finishedAt, with p50/p95 of createdAt → finishedAt', async () => {
    const res = await t.api('GET', `/api/v1/flows/${flowId}/stats?from=${from}&to=${to}&bucket=1m`);
    expect(res.status).toBe(200);
    const buckets = res.body.buckets as any[];
    const start = Math.floor(Date.parse(from) / MINUTE) * MINUTE;
    const end = Math.ceil(Date.parse(to) / MINUTE) * MINUTE;
    expect(buckets.map((b) => b.at)).toEqual(
      Array.from({ length: (end - start) / MINUTE }, (_, i) => new Date(start + i * MINUTE).toISOString()),
    );
    for (const b of buckets) {
      const at = Date.parse(b.at as string);
      const mine = runs.filter((r) => {
        const f = Date.parse(r.finishedAt as string);
        return f >= at && f < at + MINUTE;
      });
      const count = (s: string) => mine.filter((r) => r.status === s).length;
      expect({
        at: b.at,
        succeeded: b.succeeded,
        failed: b.failed,
        filtered: b.filtered,
        cancelled: b.cancelled,
      }).toEqual({
        at: b.at,
        succeeded: count('succeeded'),
        failed: count('failed'),
        filtered: count('filtered'),
        cancelled: count('cancelled'),
      });
      const durations = mine
        .filter((r) => r.status === 'succeeded' || r.status === 'failed')
        .map((r) => Date.parse(r.finishedAt as string) - Date.parse(r.createdAt as string))
        .sort((x, y) => x - y);
      if (durations.length === 0) {
        expect([b.p50Ms, b.p95Ms]).toEqual([null, null]);
      } else {
        // The database keeps microseconds, the API answers milliseconds: within 1 ms.
        expect(Math.abs(b.p50Ms - percentile(durations, 0.5))).toBeLessThanOrEqual(1);
        expect(Math.abs(b.p95Ms - percentile(durations, 0.95))).toBeLessThanOrEqual(1);
        expect(b.p50Ms).toBeLessThanOrEqual(b.p95Ms);
      }
    }
    const total = (k: string) => buckets.reduce((n, b) => n + (b[k] as number), 0);
    expect([total('succeeded'), total('failed'), total('filtered'), total('cancelled')]).toEqual([
      5, 3, 2, 1,
    ]);
  });

  it('answers the last 24 h in hour buckets by default, and day buckets on request', async () => {
    const byDefault = await t.api('GET', `/api/v1/flows/${flowId}/stats`);
    expect(byDefault.status).toBe(200);
    expect(byDefault.body.buckets.length).toBeGreaterThanOrEqual(24);
    expect(byDefault.body.buckets.length).toBeLessThanOrEqual(25);
    const sum = (bs: any[]) => bs.reduce((n, b) => n + b.succeeded + b.failed + b.filtered + b.cancelled, 0);
    expect(sum(byDefault.body.buckets)).toBe(11);
    const days = await t.api(
      'GET',
      `/api/v1/flows/${flowId}/stats?from=${new Date(Date.now() - 30 * 86_400_000).toISOString()}&bucket=1d`,
    );
    expect(days.status).toBe(200);
    expect(days.body.buckets.length).toBeGreaterThanOrEqual(30);
    expect(days.body.buckets.every((b: any) => b.at.endsWith('T00:00:00.000Z'))).toBe(true);
    expect(sum(days.body.buckets)).toBe(11);
  });

  it('rolls a settled hour up once and reads it back: the same counts, percentiles within 5 %', async () => {
    const HOUR = 3_600_000;
    const hourFrom = new Date(Math.floor(Date.parse(from) / HOUR) * HOUR).toISOString();
    const hourTo = new Date(Math.ceil(Date.parse(to) / HOUR) * HOUR).toISOString();
    const query = { from: hourFrom, to: hourTo, bucket: '1h' as const };
    const counted = await t.api(
      'GET',
      `/api/v1/flows/${flowId}/stats?from=${hourFrom}&to=${hourTo}&bucket=1h`,
    );
    expect(counted.status).toBe(200);
    const db = t.app.get(DataSource);
    const stored = () =>
      db.query(`SELECT succeeded, failed, filtered, cancelled FROM flow_stats_hours WHERE flow_id = $1`, [
        flowId,
      ]);
    // Asked two hours later, they are settled: written once, then read.
    const service = t.app.get(FlowStatsService);
    const later = Date.now() + 2 * HOUR;
    const first = await service.stats(flowId, query, later);
    const rows = (await stored()) as any[];
    // One row per hour since the flow's creation hour (earlier hours had no runs and are not stored).
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.length).toBeLessThanOrEqual(counted.body.buckets.length);
    const total = (xs: any[], k: string) => xs.reduce((n, x) => n + (x[k] as number), 0);
    expect(['succeeded', 'failed', 'filtered', 'cancelled'].map((k) => total(rows, k))).toEqual([5, 3, 2, 1]);
    const second = await service.stats(flowId, query, later);
    expect(second).toEqual(first);
    const strip = (b: any) => ({ at: b.at, s: b.succeeded, f: b.failed, x: b.filtered, c: b.cancelled });
    expect(first.buckets.map(strip)).toEqual(counted.body.buckets.map(strip));
    for (const b of first.buckets) {
      const durations = runs
        .filter((r) => r.status === 'succeeded' || r.status === 'failed')
        .filter((r) => Math.floor(Date.parse(r.finishedAt as string) / HOUR) * HOUR === Date.parse(b.at))
        .map((r) => Date.parse(r.finishedAt as string) - Date.parse(r.createdAt as string))
        .sort((x, y) => x - y);
      if (durations.length === 0) continue;
      // The histogram's 5 % bins, and a millisecond of rounding either way.
      expect(Math.abs(b.p50Ms! - percentile(durations, 0.5))).toBeLessThanOrEqual(
        percentile(durations, 0.5) * 0.05 + 2,
      );
      expect(Math.abs(b.p95Ms! - percentile(durations, 0.95))).toBeLessThanOrEqual(
        percentile(durations, 0.95) * 0.05 + 2,
      );
    }
  });

  it('counts nothing from other flows', async () => {
    const other = await createFlow(t, { name: 'e2e stats empty', steps: [] });
    const res = await t.api('GET', `/api/v1/flows/${other.id}/stats?from=${from}&to=${to}&bucket=5m`);
    expect(res.status).toBe(200);
    expect(res.body.buckets.length).toBeGreaterThan(0);
    for (const b of res.body.buckets) {
      expect(b).toEqual({
        at: b.at,
        succeeded: 0,
        failed: 0,
        filtered: 0,
        cancelled: 0,
        p50Ms: null,
        p95Ms: null,
      });
    }
  });

  it('answers 400 for a bad bucket, too many buckets, a bad time or from ≥ to', async () => {
    const bad = await t.api('GET', `/api/v1/flows/${flowId}/stats?bucket=2h`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual([expect.stringContaining('bucket')]);
    const many = await t.api(
      'GET',
      `/api/v1/flows/${flowId}/stats?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&bucket=1m`,
    );
    expect(many.status).toBe(400);
    expect(many.body.message).toBe(
      'bucket 1m cuts from–to into 1440 buckets; at most 1000: choose a larger bucket or a shorter range',
    );
    const notTime = await t.api('GET', `/api/v1/flows/${flowId}/stats?from=yesterday`);
    expect(notTime.status).toBe(400);
    expect(notTime.body.message).toEqual([expect.stringContaining('from')]);
    const backwards = await t.api(
      'GET',
      `/api/v1/flows/${flowId}/stats?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`,
    );
    expect(backwards.status).toBe(400);
    expect(backwards.body.message).toBe('from must be before to');
    const same = await t.api(
      'GET',
      `/api/v1/flows/${flowId}/stats?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`,
    );
    expect(same.status).toBe(400);
    const extra = await t.api('GET', `/api/v1/flows/${flowId}/stats?colour=red`);
    expect(extra.status).toBe(400);
  });

  it('answers 404 for an unknown or deleted flow and 401 without a key', async () => {
    expect((await t.api('GET', `/api/v1/flows/${UNKNOWN_ID}/stats`)).status).toBe(404);
    expect((await t.api('GET', '/api/v1/flows/nope/stats')).status).toBe(404);
    const gone = await createFlow(t, { name: 'e2e stats deleted', steps: [] });
    expect((await t.api('DELETE', `/api/v1/flows/${gone.id}`)).status).toBe(204);
    expect((await t.api('GET', `/api/v1/flows/${gone.id}/stats`)).status).toBe(404);
    const res = await fetch(`${t.url}/api/v1/flows/${flowId}/stats`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(401);
    expect((await t.api('GET', `/api/v1/flows/${flowId}/stats`, undefined, 'wrong-key')).status).toBe(401);
  });
});
