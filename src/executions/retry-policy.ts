import type { RetryDto } from 'src/steps/step-base.dto';

export interface RetryPolicy {
  attempts: number;
  type: 'fixed' | 'exponential';
  delayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF = { type: 'exponential', delayMs: 1000 } as const;
export const DEFAULT_MAX_DELAY_MS = 60 * 60 * 1000;
/** After a 429 or a timeout, never come back sooner than this: the receiver is struggling. */
export const STRUGGLING_FLOOR_MS = 1000;

export function resolvePolicy(retry: RetryDto | undefined, defaultAttempts: number): RetryPolicy {
  return {
    attempts: retry?.attempts ?? defaultAttempts,
    type: retry?.backoff?.type ?? DEFAULT_BACKOFF.type,
    delayMs: retry?.backoff?.delayMs ?? DEFAULT_BACKOFF.delayMs,
    maxDelayMs: retry?.backoff?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
  };
}

/**
 * Delay before attempt `failedAttempt + 1`. Exponential doubles per attempt; both kinds get ±20 %
 * jitter so that a burst of failures does not come back as a burst. A receiver's `Retry-After` is
 * honoured when it asks for longer, and everything is capped by `maxDelayMs`.
 */
export function backoffDelay(
  policy: RetryPolicy,
  failedAttempt: number,
  hints: { retryAfterMs?: number; struggling?: boolean } = {},
  random: () => number = Math.random,
): number {
  const base =
    policy.type === 'fixed'
      ? policy.delayMs
      : policy.delayMs * 2 ** Math.min(Math.max(failedAttempt - 1, 0), 30);
  let delay = base * (0.8 + 0.4 * random());
  if (hints.struggling) delay = Math.max(delay, Math.min(STRUGGLING_FLOOR_MS, policy.maxDelayMs));
  if (hints.retryAfterMs !== undefined) delay = Math.max(delay, hints.retryAfterMs);
  return Math.round(Math.min(delay, policy.maxDelayMs));
}
