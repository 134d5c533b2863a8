// The Insights card's pure part: which buckets a range asks for, the totals and the sentence a
// screen reader hears, and the chart's geometry (stacked bars, p50/p95 lines) in SVG user units.
import type { StatsBucket } from '../api/types';

export type RangeId = '1h' | '24h' | '7d' | '30d';

export interface InsightsRange {
  id: RangeId;
  label: string;
  /** How far back from now. */
  ms: number;
  bucket: '1m' | '1h' | '1d';
  /** "per minute", "per hour", "per day": for the summary sentence. */
  per: string;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;

export const RANGES: readonly InsightsRange[] = [
  { id: '1h', label: '1 h', ms: HOUR, bucket: '1m', per: 'minute' },
  { id: '24h', label: '24 h', ms: DAY, bucket: '1h', per: 'hour' },
  { id: '7d', label: '7 d', ms: 7 * DAY, bucket: '1h', per: 'hour' },
  { id: '30d', label: '30 d', ms: 30 * DAY, bucket: '1d', per: 'day' },
];

/** The statuses stacked from the bottom up, with their legend names. */
export const SERIES = [
  { key: 'succeeded', label: 'Succeeded' },
  { key: 'failed', label: 'Failed' },
  { key: 'filtered', label: 'Filtered' },
  { key: 'cancelled', label: 'Cancelled' },
] as const;

export type SeriesKey = (typeof SERIES)[number]['key'];

export interface Totals {
  succeeded: number;
  failed: number;
  filtered: number;
  cancelled: number;
  runs: number;
}

export function totals(buckets: readonly StatsBucket[]): Totals {
  const t: Totals = { succeeded: 0, failed: 0, filtered: 0, cancelled: 0, runs: 0 };
  for (const b of buckets) for (const s of SERIES) t[s.key] += b[s.key];
  t.runs = t.succeeded + t.failed + t.filtered + t.cancelled;
  return t;
}

export function runsIn(b: StatsBucket): number {
  return b.succeeded + b.failed + b.filtered + b.cancelled;
}

/** The highest p95 of the range and its bucket; null when no run succeeded or failed. */
export function slowest(buckets: readonly StatsBucket[]): { at: string; ms: number } | null {
  let best: { at: string; ms: number } | null = null;
  for (const b of buckets)
    if (b.p95Ms !== null && (!best || b.p95Ms > best.ms)) best = { at: b.at, ms: b.p95Ms };
  return best;
}

/** The chart's aria-label: what the bars show, in one sentence. */
export function summary(
  range: InsightsRange,
  buckets: readonly StatsBucket[],
  ms: (n: number) => string,
): string {
  const t = totals(buckets);
  if (t.runs === 0) return `No runs finished in the last ${range.label}.`;
  const parts = SERIES.map((s) => `${t[s.key]} ${s.key}`).join(', ');
  const busiest = Math.max(...buckets.map(runsIn));
  const slow = slowest(buckets);
  return (
    `Runs per ${range.per} over the last ${range.label}: ${t.runs} in all, ${parts}; ` +
    `at most ${busiest} in one ${range.per}` +
    (slow ? `; highest p95 duration ${ms(slow.ms)}.` : '.')
  );
}

/** A round number at or above `n` for the top of the axis (1, 2, 5 × 10^k). */
export function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(n)));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

export interface BarRect {
  key: SeriesKey;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The stacked bars of every bucket in a `width` × `height` box, bottom-up, zero-height parts left out. */
export function bars(
  buckets: readonly StatsBucket[],
  width: number,
  height: number,
  top: number,
): BarRect[][] {
  const slot = buckets.length > 0 ? width / buckets.length : width;
  const gap = slot > 4 ? Math.min(2, slot * 0.2) : 0;
  return buckets.map((b, i) => {
    let y = height;
    const rects: BarRect[] = [];
    for (const s of SERIES) {
      const h = (b[s.key] / top) * height;
      if (h <= 0) continue;
      y -= h;
      rects.push({ key: s.key, x: i * slot + gap / 2, y, width: Math.max(slot - gap, 0.5), height: h });
    }
    return rects;
  });
}

/**
 * An SVG path through the buckets' values as steps (each value level across its bucket, so a lone
 * bucket still shows), broken where a bucket has none (no run to time).
 */
export function linePath(
  values: ReadonlyArray<number | null>,
  width: number,
  height: number,
  top: number,
): string {
  const slot = values.length > 0 ? width / values.length : width;
  const parts: string[] = [];
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    const y = (height - (Math.min(v, top) / top) * height).toFixed(1);
    parts.push(`${pen ? 'L' : 'M'}${(i * slot).toFixed(1)} ${y} L${((i + 1) * slot).toFixed(1)} ${y}`);
    pen = true;
  });
  return parts.join(' ');
}

/** A bucket's runs for the sparkline: failed ones on top of all the others. */
export interface SparkBar {
  x: number;
  width: number;
  /** The runs that did not fail (succeeded, filtered, cancelled), from the bottom. */
  rest: { y: number; height: number } | null;
  /** The failed runs, on top of the rest. */
  failed: { y: number; height: number } | null;
}

/**
 * The flows list's sparkline: one bar per bucket in a `width` × `height` box, scaled to the busiest
 * bucket. A bucket with runs is at least `min` high, and its failed part at least `min` too, so that
 * one failure among hundreds of runs still shows.
 */
export function sparkBars(
  buckets: readonly StatsBucket[],
  width: number,
  height: number,
  min = 2,
): SparkBar[] {
  const top = Math.max(0, ...buckets.map(runsIn));
  const slot = buckets.length > 0 ? width / buckets.length : width;
  const gap = slot > 3 ? 1 : 0;
  return buckets.map((b, i) => {
    const runs = runsIn(b);
    const x = i * slot + gap / 2;
    const w = Math.max(slot - gap, 0.5);
    if (runs === 0 || top === 0) return { x, width: w, rest: null, failed: null };
    const both = b.failed > 0 && b.failed < runs;
    const total = Math.min(height, Math.max((runs / top) * height, both ? 2 * min : min));
    const failedH =
      b.failed === 0
        ? 0
        : b.failed === runs
          ? total
          : Math.min(total - min, Math.max((b.failed / runs) * total, min));
    const restH = total - failedH;
    return {
      x,
      width: w,
      rest: restH > 0 ? { y: height - restH, height: restH } : null,
      failed: failedH > 0 ? { y: height - restH - failedH, height: failedH } : null,
    };
  });
}

/** The sparkline's words for a screen reader (and its tooltip): "last 24 h: 120 runs, 20 failed". */
export function sparkSummary(label: string, buckets: readonly StatsBucket[]): string {
  const t = totals(buckets);
  return `last ${label}: ${t.runs} ${t.runs === 1 ? 'run' : 'runs'}, ${t.failed} failed`;
}
