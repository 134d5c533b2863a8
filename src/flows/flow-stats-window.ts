/**
 * The time buckets of `GET /flows/{id}/stats` (API.md §2), as a pure function of the query and the
 * clock. Buckets are whole UTC spans (1d buckets start at 00:00 UTC): `from` is rounded down and `to`
 * up to a bucket's edge, so a bucket counts the same runs whatever window it is asked in, and a chart
 * that refreshes does not see its first bar shrink.
 */
import { addInto, histogramPercentile, type Histogram } from 'src/flows/flow-stats-histogram';

export const STAT_BUCKETS = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 } as const;
export type StatBucket = keyof typeof STAT_BUCKETS;
export const STAT_BUCKET_NAMES = Object.keys(STAT_BUCKETS) as StatBucket[];
export const MAX_STAT_BUCKETS = 1000;
export const DEFAULT_STAT_BUCKET: StatBucket = '1h';
export const DEFAULT_STAT_RANGE_MS = 86_400_000;

export interface StatsQuery {
  from?: string;
  to?: string;
  bucket?: StatBucket;
}

export interface StatsWindow {
  /** The first bucket's start (ms since the epoch). */
  start: number;
  /** Where the last bucket ends (exclusive). */
  end: number;
  bucketMs: number;
  count: number;
}

/** The window for a query, or the 400 message that names the bad parameter. */
export function statsWindow(query: StatsQuery, now: number): StatsWindow | { problem: string } {
  const bucket = query.bucket ?? DEFAULT_STAT_BUCKET;
  const bucketMs = STAT_BUCKETS[bucket];
  if (bucketMs === undefined) return { problem: `bucket must be one of ${STAT_BUCKET_NAMES.join(', ')}` };
  const to = query.to === undefined ? undefined : Date.parse(query.to);
  const from = query.from === undefined ? undefined : Date.parse(query.from);
  if (to !== undefined && Number.isNaN(to)) return { problem: 'to must be an ISO 8601 time' };
  if (from !== undefined && Number.isNaN(from)) return { problem: 'from must be an ISO 8601 time' };
  const end = to ?? now;
  const begin = from ?? end - DEFAULT_STAT_RANGE_MS;
  if (begin >= end)
    return { problem: to === undefined ? 'from must be before to (now)' : 'from must be before to' };
  const start = Math.floor(begin / bucketMs) * bucketMs;
  const last = Math.ceil(end / bucketMs) * bucketMs;
  const count = (last - start) / bucketMs;
  if (count > MAX_STAT_BUCKETS)
    return {
      problem: `bucket ${bucket} cuts from–to into ${count} buckets; at most ${MAX_STAT_BUCKETS}: choose a larger bucket or a shorter range`,
    };
  return { start, end: last, bucketMs, count };
}

/** One bucket of the answer. */
export interface StatsBucket {
  at: string;
  succeeded: number;
  failed: number;
  filtered: number;
  cancelled: number;
  /** Median and 95th percentile of createdAt → finishedAt of the bucket's succeeded and failed runs; null without any. */
  p50Ms: number | null;
  p95Ms: number | null;
}

/** A row of the aggregate query: the bucket's index from `start`, and its figures. */
export interface StatsRow {
  slot: number;
  succeeded: number;
  failed: number;
  filtered: number;
  cancelled: number;
  p50: number | null;
  p95: number | null;
}

/** Every bucket of the window, in time order; a bucket without runs is there with zeros (no holes in a chart). */
export function fillBuckets(window: StatsWindow, rows: readonly StatsRow[]): StatsBucket[] {
  const bySlot = new Map(rows.map((r) => [Number(r.slot), r]));
  return Array.from({ length: window.count }, (_, i) => {
    const r = bySlot.get(i);
    return {
      at: new Date(window.start + i * window.bucketMs).toISOString(),
      succeeded: Number(r?.succeeded ?? 0),
      failed: Number(r?.failed ?? 0),
      filtered: Number(r?.filtered ?? 0),
      cancelled: Number(r?.cancelled ?? 0),
      p50Ms: r?.p50 == null ? null : Math.round(Number(r.p50)),
      p95Ms: r?.p95 == null ? null : Math.round(Number(r.p95)),
    };
  });
}

export const HOUR_MS = 3_600_000;

/** One hour of one flow's finished runs: counts by status, and the durations of its succeeded and failed runs. */
export interface HourStats {
  /** The hour's start, ms since the epoch. */
  hour: number;
  succeeded: number;
  failed: number;
  filtered: number;
  cancelled: number;
  durations: Histogram;
}

/** A row of the hourly aggregate: how many runs of one status (and one duration bin) finished in an hour. */
export interface HourRow {
  hour: number | string;
  status: string;
  bin: number | null;
  n: number | string;
}

export function emptyHour(hour: number): HourStats {
  return { hour, succeeded: 0, failed: 0, filtered: 0, cancelled: 0, durations: {} };
}

/** The hours of the aggregate's rows; statuses other than the four final ones are not counted. */
export function hoursFromRows(rows: readonly HourRow[]): Map<number, HourStats> {
  const hours = new Map<number, HourStats>();
  for (const row of rows) {
    const at = Number(row.hour);
    const hour = hours.get(at) ?? emptyHour(at);
    hours.set(at, hour);
    const n = Number(row.n);
    if (row.status === 'succeeded' || row.status === 'failed') {
      hour[row.status] += n;
      if (row.bin !== null) addInto(hour.durations, { [String(row.bin)]: n });
    } else if (row.status === 'filtered' || row.status === 'cancelled') hour[row.status] += n;
  }
  return hours;
}

/**
 * The buckets of a window whose bucket is a whole number of hours (1h, 1d), from its hours (an hour
 * that is not in the map had no runs). Percentiles are read from the summed histograms.
 */
export function bucketsFromHours(window: StatsWindow, hours: ReadonlyMap<number, HourStats>): StatsBucket[] {
  const perBucket = window.bucketMs / HOUR_MS;
  return Array.from({ length: window.count }, (_, i) => {
    const start = window.start + i * window.bucketMs;
    const sum = emptyHour(start);
    for (let h = 0; h < perBucket; h++) {
      const hour = hours.get(start + h * HOUR_MS);
      if (!hour) continue;
      sum.succeeded += hour.succeeded;
      sum.failed += hour.failed;
      sum.filtered += hour.filtered;
      sum.cancelled += hour.cancelled;
      addInto(sum.durations, hour.durations);
    }
    const p50 = histogramPercentile(sum.durations, 0.5);
    const p95 = histogramPercentile(sum.durations, 0.95);
    return {
      at: new Date(start).toISOString(),
      succeeded: sum.succeeded,
      failed: sum.failed,
      filtered: sum.filtered,
      cancelled: sum.cancelled,
      p50Ms: p50 === null ? null : Math.round(p50),
      p95Ms: p95 === null ? null : Math.round(p95),
    };
  });
}
