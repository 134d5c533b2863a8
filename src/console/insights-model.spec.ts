// The console's Insights card, its pure part (console/src/lib/insights.ts); the card itself is tested
// in a browser (test/console-insights.e2e-spec.ts).
import type { StatsBucket } from '../../console/src/api/types';
import { eachLimited } from '../../console/src/lib/each-limited';
import {
  bars,
  linePath,
  niceMax,
  RANGES,
  sparkBars,
  sparkSummary,
  summary,
  totals,
} from '../../console/src/lib/insights';

const bucket = (at: string, counts: Partial<StatsBucket> = {}): StatsBucket => ({
  at,
  succeeded: 0,
  failed: 0,
  filtered: 0,
  cancelled: 0,
  p50Ms: null,
  p95Ms: null,
  ...counts,
});

const day = RANGES.find((r) => r.id === '24h')!;
const ms = (n: number) => `${n} ms`;

describe('console insights model', () => {
  const buckets = [
    bucket('2026-12-07T10:00:00.000Z', { succeeded: 60, failed: 5, p50Ms: 40, p95Ms: 300 }),
    bucket('2026-12-07T11:00:00.000Z'),
    bucket('2026-12-07T12:00:00.000Z', {
      succeeded: 40,
      failed: 15,
      filtered: 3,
      cancelled: 1,
      p50Ms: 50,
      p95Ms: 900,
    }),
  ];

  it('asks for minute buckets over 1 h, hour buckets over 24 h and 7 d, day buckets over 30 d (all under 1,000 buckets)', () => {
    const size = { '1m': 60_000, '1h': 3_600_000, '1d': 86_400_000 };
    expect(RANGES.map((r) => [r.id, r.bucket, r.ms / size[r.bucket]])).toEqual([
      ['1h', '1m', 60],
      ['24h', '1h', 24],
      ['7d', '1h', 168],
      ['30d', '1d', 30],
    ]);
  });

  it('totals the range and says it in one sentence', () => {
    expect(totals(buckets)).toEqual({ succeeded: 100, failed: 20, filtered: 3, cancelled: 1, runs: 124 });
    expect(summary(day, buckets, ms)).toBe(
      'Runs per hour over the last 24 h: 124 in all, 100 succeeded, 20 failed, 3 filtered, 1 cancelled; ' +
        'at most 65 in one hour; highest p95 duration 900 ms.',
    );
    expect(summary(day, [bucket('2026-12-07T10:00:00.000Z')], ms)).toBe('No runs finished in the last 24 h.');
  });

  it('says the 1 h range per minute', () => {
    const hour = RANGES.find((r) => r.id === '1h')!;
    expect(summary(hour, [bucket('2026-12-07T10:00:00.000Z', { succeeded: 3, failed: 1 })], ms)).toBe(
      'Runs per minute over the last 1 h: 4 in all, 3 succeeded, 1 failed, 0 filtered, 0 cancelled; at most 4 in one minute.',
    );
  });

  it('rounds the axis up to 1, 2 or 5 times a power of ten', () => {
    expect([0, 1, 3, 65, 100, 101, 4000].map(niceMax)).toEqual([1, 1, 5, 100, 100, 200, 5000]);
  });

  it('stacks each bucket bottom-up, leaving out empty parts', () => {
    const [first, empty, last] = bars(buckets, 300, 100, 100);
    expect(first.map((r) => [r.key, r.y, r.height])).toEqual([
      ['succeeded', 40, 60],
      ['failed', 35, 5],
    ]);
    expect(empty).toEqual([]);
    expect(last.map((r) => r.key)).toEqual(['succeeded', 'failed', 'filtered', 'cancelled']);
    expect(last[0].x).toBeCloseTo(201);
    expect(last[0].width).toBeCloseTo(98);
  });

  it('draws durations as steps, broken where a bucket has no timed run', () => {
    expect(linePath([300, null, 900], 300, 100, 1000)).toBe('M0.0 70.0 L100.0 70.0 M200.0 10.0 L300.0 10.0');
    expect(linePath([100, 200], 200, 100, 200)).toBe('M0.0 50.0 L100.0 50.0 L100.0 0.0 L200.0 0.0');
    expect(linePath([null], 100, 100, 1)).toBe('');
  });

  it('sparkline: bars scaled to the busiest bucket, failed runs on top, both parts visible however few', () => {
    const spark = sparkBars(
      [
        bucket('a', { succeeded: 80, failed: 20 }),
        bucket('b'),
        bucket('c', { succeeded: 499, failed: 1 }),
        bucket('d', { failed: 5 }),
        bucket('e', { filtered: 1 }),
      ],
      100,
      50,
    );
    expect(spark.map((b) => [b.x, b.width])).toEqual([
      [0.5, 19],
      [20.5, 19],
      [40.5, 19],
      [60.5, 19],
      [80.5, 19],
    ]);
    // 100 runs of 500 at most: 10 high, 2 of them failed.
    expect(spark[0].rest).toEqual({ y: 42, height: 8 });
    expect(spark[0].failed).toEqual({ y: 40, height: 2 });
    expect(spark[1]).toMatchObject({ rest: null, failed: null });
    // The busiest bucket fills the box; its one failure is still 2 high.
    expect(spark[2].rest).toEqual({ y: 2, height: 48 });
    expect(spark[2].failed).toEqual({ y: 0, height: 2 });
    // Only failures; only a filtered run (at least 2 high).
    expect(spark[3]).toMatchObject({ rest: null, failed: { y: 48, height: 2 } });
    expect(spark[4]).toMatchObject({ rest: { y: 48, height: 2 }, failed: null });
    expect(sparkBars([bucket('a'), bucket('b')], 100, 24).every((b) => !b.rest && !b.failed)).toBe(true);
    expect(sparkBars([], 100, 24)).toEqual([]);
  });

  it('sparkline: its numbers as words', () => {
    expect(sparkSummary('24 h', buckets)).toBe('last 24 h: 124 runs, 20 failed');
    expect(sparkSummary('24 h', [bucket('a', { succeeded: 1 })])).toBe('last 24 h: 1 run, 0 failed');
    expect(sparkSummary('24 h', [])).toBe('last 24 h: 0 runs, 0 failed');
  });
});

describe('eachLimited', () => {
  it('runs every item, never more than the limit at once, and goes on past a failure', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    const items = Array.from({ length: 10 }, (_, i) => i);
    await eachLimited(items, 4, async (i) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5 + (i % 3) * 3));
      running--;
      if (i === 2) throw new Error('this one fails');
      done.push(i);
    });
    expect(most).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 9]);
    let calls = 0;
    await eachLimited([], 4, async () => {
      calls++;
    });
    await eachLimited([1, 2], 4, async () => {
      calls++;
    });
    expect(calls).toBe(2);
  });
});
