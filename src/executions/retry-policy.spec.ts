import { backoffDelay, resolvePolicy } from 'src/executions/retry-policy';

describe('retry policy', () => {
  const mid = (): number => 0.5; // no jitter

  it('defaults to the step type attempts and exponential back-off from 1 s, capped at an hour', () => {
    expect(resolvePolicy(undefined, 5)).toEqual({
      attempts: 5,
      type: 'exponential',
      delayMs: 1000,
      maxDelayMs: 3_600_000,
    });
    expect(resolvePolicy({ attempts: 2, backoff: { type: 'fixed', delayMs: 10 } }, 5)).toMatchObject({
      attempts: 2,
      type: 'fixed',
      delayMs: 10,
    });
  });

  it('doubles exponential delays and caps them', () => {
    const p = resolvePolicy({ backoff: { type: 'exponential', delayMs: 100, maxDelayMs: 500 } }, 5);
    expect([1, 2, 3, 4].map((n) => backoffDelay(p, n, {}, mid))).toEqual([100, 200, 400, 500]);
  });

  it('jitters within ±20 %', () => {
    const p = resolvePolicy({ backoff: { type: 'fixed', delayMs: 1000 } }, 5);
    expect(backoffDelay(p, 1, {}, () => 0)).toBe(800);
    expect(backoffDelay(p, 1, {}, () => 0.999999)).toBe(1200);
  });

  it('honours Retry-After when longer, capped by maxDelayMs, and floors after 429/timeouts', () => {
    const p = resolvePolicy({ backoff: { type: 'fixed', delayMs: 10, maxDelayMs: 5000 } }, 5);
    expect(backoffDelay(p, 1, { retryAfterMs: 3000 }, mid)).toBe(3000);
    expect(backoffDelay(p, 1, { retryAfterMs: 60_000 }, mid)).toBe(5000);
    expect(backoffDelay(p, 1, { struggling: true }, mid)).toBe(1000);
  });
});
