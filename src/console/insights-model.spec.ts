// The console's Insights card, its pure part (console/src/lib/insights.ts); the card itself is tested
// in a browser (test/console-insights.e2e-spec.ts).
import type { StatsBucket } from '../../console/src/api/types';
import { bars, linePath, niceMax, RANGES, summary, totals } from '../../console/src/lib/insights';

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

  it('asks for hour buckets over 24 h and 7 d, day buckets over 30 d (all under 1,000 buckets)', () => {
    expect(RANGES.map((r) => [r.id, r.bucket, r.ms / (r.bucket === '1h' ? 3_600_000 : 86_400_000)])).toEqual([
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
});
