import { Backoff, MAX_RETRY_MS, retryDelayMs } from 'src/brokers/consumers/backoff';

describe('retryDelayMs', () => {
  it('starts at 1 s and doubles up to the 30 s cap (no jitter)', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 50, 10_000].map((n) => retryDelayMs(n, 0));
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]);
  });

  it('takes off at most 20 % at random and never waits past the cap', () => {
    expect(retryDelayMs(1, 0.999_999)).toBe(800);
    expect(retryDelayMs(3, 0.5)).toBe(3_600);
    expect(retryDelayMs(6, 0.999_999)).toBe(24_000);
    for (let n = 1; n <= 40; n++) {
      const nominal = Math.min(MAX_RETRY_MS, 1_000 * 2 ** (n - 1));
      for (const r of [0, 0.25, 0.5, 0.75, 0.999_999]) {
        const wait = retryDelayMs(n, r);
        expect(wait).toBeGreaterThanOrEqual(Math.round(nominal * 0.8));
        expect(wait).toBeLessThanOrEqual(nominal);
        expect(wait).toBeLessThanOrEqual(MAX_RETRY_MS);
      }
    }
  });

  it('treats 0 or a negative count as the first failure', () => {
    expect(retryDelayMs(0, 0)).toBe(1_000);
    expect(retryDelayMs(-3, 0)).toBe(1_000);
  });
});

describe('Backoff', () => {
  it('counts failures in a row and starts over after reset', () => {
    const b = new Backoff();
    expect([b.next(0), b.next(0), b.next(0)]).toEqual([1_000, 2_000, 4_000]);
    expect(b.failures).toBe(3);
    b.reset();
    expect(b.failures).toBe(0);
    expect(b.next(0)).toBe(1_000);
    expect(b.failures).toBe(1);
  });

  it('stays at the cap however long the broker is down', () => {
    const b = new Backoff();
    let last = 0;
    for (let i = 0; i < 100; i++) last = b.next(0);
    expect(last).toBe(MAX_RETRY_MS);
  });
});
