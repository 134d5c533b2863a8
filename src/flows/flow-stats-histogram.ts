/**
 * Durations of finished runs as a log-scale histogram, so that hours can be rolled up once and summed
 * into days: bin k holds durations in [1.05^k, 1.05^(k+1)) ms (bin 0 also holds everything under
 * 1 ms), so a percentile read from it is within 2.5 % of the exact one. The binning itself happens in
 * SQL (HISTOGRAM_BIN_SQL); this file only reads histograms.
 */

export const HISTOGRAM_BASE = 1.05;
/** 1.05^400 ms is about 100 days: the last bin holds anything longer. */
export const HISTOGRAM_MAX_BIN = 400;

/** The bin of a duration in milliseconds (the SQL expression below computes the same). */
export function binOf(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(HISTOGRAM_MAX_BIN, Math.floor(Math.log(ms) / Math.log(HISTOGRAM_BASE)));
}

/** SQL for the bin of `finished_at - created_at`, as binOf. */
export const HISTOGRAM_BIN_SQL = `least(${HISTOGRAM_MAX_BIN}, floor(ln(greatest(date_part('epoch', finished_at - created_at) * 1000, 1)) / ln(${HISTOGRAM_BASE})))::int`;

/** A bin's representative value: the geometric middle of its span (0 for bin 0's sub-millisecond runs is not worth the special case). */
export function binValue(bin: number): number {
  return Math.pow(HISTOGRAM_BASE, bin + 0.5);
}

/** Bin → count; a JSON object in the database (`{"97": 12, ...}`). */
export type Histogram = Record<string, number>;

export function addInto(into: Histogram, from: Histogram): Histogram {
  for (const [bin, n] of Object.entries(from)) into[bin] = (into[bin] ?? 0) + Number(n);
  return into;
}

/**
 * The p-th percentile (0..1) as PostgreSQL's percentile_cont computes it over the sorted values
 * (linear between the two nearest ranks), each value read as its bin's middle; null when empty.
 */
export function histogramPercentile(histogram: Histogram, p: number): number | null {
  const bins = Object.entries(histogram)
    .map(([bin, n]) => [Number(bin), Number(n)] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = bins.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return null;
  const rank = p * (total - 1);
  const valueAt = (r: number): number => {
    let seen = 0;
    for (const [bin, n] of bins) {
      seen += n;
      if (r < seen) return binValue(bin);
    }
    return binValue(bins[bins.length - 1][0]);
  };
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const low = valueAt(lo);
  return low + (valueAt(hi) - low) * (rank - lo);
}
