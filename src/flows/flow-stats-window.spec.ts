import { binValue } from 'src/flows/flow-stats-histogram';
import {
  bucketsFromHours,
  emptyHour,
  fillBuckets,
  hoursFromRows,
  type HourStats,
  MAX_STAT_BUCKETS,
  statsWindow,
  type StatsQuery,
  type StatsWindow,
} from 'src/flows/flow-stats-window';

const NOW = Date.parse('2026-12-07T12:34:56.789Z');

function window(query: StatsQuery, now = NOW): StatsWindow {
  const w = statsWindow(query, now);
  if ('problem' in w) throw new Error(`unexpected problem: ${w.problem}`);
  return w;
}

function problem(query: StatsQuery, now = NOW): string {
  const w = statsWindow(query, now);
  if (!('problem' in w)) throw new Error(`expected a problem, got ${JSON.stringify(w)}`);
  return w.problem;
}

describe('statsWindow', () => {
  it('defaults to the last 24 h in 1h buckets, from rounded down and now rounded up to an hour', () => {
    const w = window({});
    expect(new Date(w.start).toISOString()).toBe('2026-12-06T12:00:00.000Z');
    expect(new Date(w.end).toISOString()).toBe('2026-12-07T13:00:00.000Z');
    expect(w.bucketMs).toBe(3_600_000);
    expect(w.count).toBe(25);
  });

  it('rounds from down and to up to whole UTC buckets of each size', () => {
    const q = { from: '2026-12-07T10:07:30Z', to: '2026-12-07T10:12:01Z' };
    const m1 = window({ ...q, bucket: '1m' });
    expect([new Date(m1.start).toISOString(), new Date(m1.end).toISOString(), m1.count]).toEqual([
      '2026-12-07T10:07:00.000Z',
      '2026-12-07T10:13:00.000Z',
      6,
    ]);
    const m5 = window({ ...q, bucket: '5m' });
    expect([new Date(m5.start).toISOString(), new Date(m5.end).toISOString(), m5.count]).toEqual([
      '2026-12-07T10:05:00.000Z',
      '2026-12-07T10:15:00.000Z',
      2,
    ]);
    const d1 = window({ from: '2026-11-07T12:00:00Z', to: '2026-12-07T12:00:00Z', bucket: '1d' });
    expect([new Date(d1.start).toISOString(), new Date(d1.end).toISOString(), d1.count]).toEqual([
      '2026-11-07T00:00:00.000Z',
      '2026-12-08T00:00:00.000Z',
      31,
    ]);
  });

  it('keeps edges that are already on a bucket boundary', () => {
    const w = window({ from: '2026-12-07T10:00:00Z', to: '2026-12-07T12:00:00Z', bucket: '1h' });
    expect(w.count).toBe(2);
    expect(new Date(w.end).toISOString()).toBe('2026-12-07T12:00:00.000Z');
  });

  it('takes a time zone offset in from and to', () => {
    const w = window({ from: '2026-12-07T11:00:00+01:00', to: '2026-12-07T13:00:00+01:00', bucket: '1h' });
    expect(new Date(w.start).toISOString()).toBe('2026-12-07T10:00:00.000Z');
    expect(w.count).toBe(2);
  });

  it('allows exactly 1,000 buckets and refuses 1,001 with a message naming the way out', () => {
    const from = '2026-12-01T00:00:00Z';
    const thousand = new Date(Date.parse(from) + MAX_STAT_BUCKETS * 60_000).toISOString();
    expect(window({ from, to: thousand, bucket: '1m' }).count).toBe(1000);
    const more = new Date(Date.parse(from) + MAX_STAT_BUCKETS * 60_000 + 1).toISOString();
    expect(problem({ from, to: more, bucket: '1m' })).toBe(
      'bucket 1m cuts from–to into 1001 buckets; at most 1000: choose a larger bucket or a shorter range',
    );
    // 30 days: 1h fits (720), 5m does not (8640).
    const month = { from: '2026-11-07T00:00:00Z', to: '2026-12-07T00:00:00Z' };
    expect(window({ ...month, bucket: '1h' }).count).toBe(720);
    expect(problem({ ...month, bucket: '5m' })).toMatch(/^bucket 5m cuts from–to into 8640 buckets/);
  });

  it('names the bad parameter', () => {
    expect(problem({ bucket: '2h' as never })).toBe('bucket must be one of 1m, 5m, 1h, 1d');
    expect(problem({ from: 'yesterday' })).toBe('from must be an ISO 8601 time');
    expect(problem({ to: 'soon' })).toBe('to must be an ISO 8601 time');
    expect(problem({ from: '2026-12-07T10:00:00Z', to: '2026-12-07T10:00:00Z' })).toBe(
      'from must be before to',
    );
    expect(problem({ from: '2026-12-07T11:00:00Z', to: '2026-12-07T10:00:00Z' })).toBe(
      'from must be before to',
    );
    expect(problem({ from: '2026-12-08T00:00:00Z' })).toBe('from must be before to (now)');
  });

  it('measures a default from back from the given to', () => {
    const w = window({ to: '2026-12-01T00:00:00Z', bucket: '1d' });
    expect(new Date(w.start).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(w.count).toBe(1);
  });
});

describe('fillBuckets', () => {
  const w = window({ from: '2026-12-07T10:00:00Z', to: '2026-12-07T14:00:00Z', bucket: '1h' });

  it('answers every bucket in time order, with zeros and null durations where nothing finished', () => {
    const buckets = fillBuckets(w, [
      { slot: 2, succeeded: 3, failed: 1, filtered: 0, cancelled: 0, p50: 120.4, p95: 980.6 },
      { slot: 0, succeeded: 0, failed: 0, filtered: 5, cancelled: 1, p50: null, p95: null },
    ]);
    expect(buckets).toEqual([
      {
        at: '2026-12-07T10:00:00.000Z',
        succeeded: 0,
        failed: 0,
        filtered: 5,
        cancelled: 1,
        p50Ms: null,
        p95Ms: null,
      },
      {
        at: '2026-12-07T11:00:00.000Z',
        succeeded: 0,
        failed: 0,
        filtered: 0,
        cancelled: 0,
        p50Ms: null,
        p95Ms: null,
      },
      {
        at: '2026-12-07T12:00:00.000Z',
        succeeded: 3,
        failed: 1,
        filtered: 0,
        cancelled: 0,
        p50Ms: 120,
        p95Ms: 981,
      },
      {
        at: '2026-12-07T13:00:00.000Z',
        succeeded: 0,
        failed: 0,
        filtered: 0,
        cancelled: 0,
        p50Ms: null,
        p95Ms: null,
      },
    ]);
  });

  it('reads the driver’s strings (bigint, numeric) as numbers', () => {
    const [first] = fillBuckets(w, [
      {
        slot: '0',
        succeeded: '7',
        failed: '0',
        filtered: '0',
        cancelled: '0',
        p50: '12.5',
        p95: '40',
      } as never,
    ]);
    expect(first).toMatchObject({ succeeded: 7, p50Ms: 13, p95Ms: 40 });
  });

  it('answers an empty window as buckets of zeros', () => {
    const buckets = fillBuckets(w, []);
    expect(buckets).toHaveLength(4);
    expect(buckets.every((b) => b.succeeded + b.failed + b.filtered + b.cancelled === 0)).toBe(true);
  });
});

describe('hours', () => {
  const H = 3_600_000;
  const day = window({ from: '2026-12-06T00:00:00Z', to: '2026-12-08T00:00:00Z', bucket: '1d' });
  const start = Date.parse('2026-12-06T00:00:00Z');

  it('groups the hourly aggregate by hour and status, durations only for succeeded and failed', () => {
    const hours = hoursFromRows([
      { hour: String(start), status: 'succeeded', bin: 90, n: '3' },
      { hour: String(start), status: 'succeeded', bin: 95, n: '1' },
      { hour: String(start), status: 'failed', bin: 120, n: '2' },
      { hour: String(start), status: 'filtered', bin: null, n: '5' },
      { hour: String(start + H), status: 'cancelled', bin: null, n: '1' },
      { hour: String(start + H), status: 'running', bin: null, n: '9' },
    ]);
    expect([...hours.values()]).toEqual([
      {
        hour: start,
        succeeded: 4,
        failed: 2,
        filtered: 5,
        cancelled: 0,
        durations: { '90': 3, '95': 1, '120': 2 },
      },
      { hour: start + H, succeeded: 0, failed: 0, filtered: 0, cancelled: 1, durations: {} },
    ]);
  });

  it('adds hours up into day buckets, percentiles from the summed durations, empty days as zeros', () => {
    const hours = new Map<number, HourStats>([
      [start, { ...emptyHour(start), succeeded: 1, durations: { '100': 1 } }],
      [start + 23 * H, { ...emptyHour(start + 23 * H), failed: 1, filtered: 2, durations: { '100': 1 } }],
      [start + 24 * H, emptyHour(start + 24 * H)],
    ]);
    const buckets = bucketsFromHours(day, hours);
    expect(buckets).toEqual([
      {
        at: '2026-12-06T00:00:00.000Z',
        succeeded: 1,
        failed: 1,
        filtered: 2,
        cancelled: 0,
        p50Ms: Math.round(binValue(100)),
        p95Ms: Math.round(binValue(100)),
      },
      {
        at: '2026-12-07T00:00:00.000Z',
        succeeded: 0,
        failed: 0,
        filtered: 0,
        cancelled: 0,
        p50Ms: null,
        p95Ms: null,
      },
    ]);
  });

  it('answers hour buckets one hour each', () => {
    const w = window({ from: '2026-12-06T00:00:00Z', to: '2026-12-06T03:00:00Z', bucket: '1h' });
    const hours = new Map<number, HourStats>([[start + H, { ...emptyHour(start + H), succeeded: 7 }]]);
    expect(bucketsFromHours(w, hours).map((b) => b.succeeded)).toEqual([0, 7, 0]);
  });
});
