import {
  addInto,
  binOf,
  binValue,
  HISTOGRAM_MAX_BIN,
  histogramPercentile,
  type Histogram,
} from 'src/flows/flow-stats-histogram';

/** percentile_cont over exact values, for comparison. */
function exact(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  return sorted[lo] + (sorted[Math.ceil(rank)] - sorted[lo]) * (rank - lo);
}

function histogramOf(values: number[]): Histogram {
  const h: Histogram = {};
  for (const v of values) addInto(h, { [String(binOf(v))]: 1 });
  return h;
}

describe('duration histogram', () => {
  it('bins durations on a 5 % log scale, sub-millisecond and huge ones in the end bins', () => {
    expect(binOf(0)).toBe(0);
    expect(binOf(0.4)).toBe(0);
    expect(binOf(1)).toBe(0);
    expect(binOf(1.06)).toBe(1);
    expect(binOf(100)).toBe(94); // 1.05^94 ≈ 98.3, 1.05^95 ≈ 103.2
    expect(binOf(1e12)).toBe(HISTOGRAM_MAX_BIN);
    for (const ms of [3, 47, 250, 1_000, 61_000]) {
      expect(Math.abs(binValue(binOf(ms)) - ms) / ms).toBeLessThan(0.05);
    }
  });

  it('reads percentiles within 5 % of the exact ones', () => {
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const values = Array.from({ length: 5000 }, () => 20 + random() * random() * 2000);
    const h = histogramOf(values);
    for (const p of [0.5, 0.95]) {
      const got = histogramPercentile(h, p)!;
      expect(Math.abs(got - exact(values, p)) / exact(values, p)).toBeLessThan(0.05);
    }
  });

  it('sums histograms and answers null for none', () => {
    const a: Histogram = { '10': 2, '20': 1 };
    expect(addInto(a, { '20': 3, '30': 1 })).toEqual({ '10': 2, '20': 4, '30': 1 });
    expect(histogramPercentile({}, 0.5)).toBeNull();
    expect(histogramPercentile({ '10': 0 }, 0.5)).toBeNull();
    expect(histogramPercentile({ '10': 1 }, 0.95)).toBeCloseTo(binValue(10));
    // Two values: the median lies halfway between them, as percentile_cont has it.
    expect(histogramPercentile({ '10': 1, '20': 1 }, 0.5)).toBeCloseTo((binValue(10) + binValue(20)) / 2);
  });
});
