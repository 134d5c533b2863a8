/** The wait after the first failure; each further failure in a row doubles it. */
export const RETRY_BASE_MS = 1_000;
/**
 * Longest wait between connection attempts (API.md §11 promises at most 30 s). A constant, not an
 * environment setting: the promise is part of the API, and no operator has needed another value.
 */
export const MAX_RETRY_MS = 30_000;
/**
 * Each wait is shortened by up to this fraction at random, so the consumers of a broker that went
 * down together do not all knock again in the same instant. Never lengthened: the cap holds.
 */
export const RETRY_JITTER = 0.2;

/**
 * How long to wait after `failures` failures in a row (1, 2, …): 1 s, 2 s, 4 s … 30 s, each less up
 * to 20 % at random (`random` in [0, 1), Math.random() unless a test gives one).
 */
export function retryDelayMs(failures: number, random: number = Math.random()): number {
  const doublings = Math.min(Math.max(0, Math.floor(failures) - 1), 30);
  const nominal = Math.min(MAX_RETRY_MS, RETRY_BASE_MS * 2 ** doublings);
  return Math.round(nominal * (1 - RETRY_JITTER * random));
}

/** One consumer's failures in a row: each `next()` counts one and says how long to wait. */
export class Backoff {
  private count = 0;

  get failures(): number {
    return this.count;
  }

  next(random: number = Math.random()): number {
    this.count++;
    return retryDelayMs(this.count, random);
  }

  /** A connection held: the next failure waits the shortest time again. */
  reset(): void {
    this.count = 0;
  }
}
