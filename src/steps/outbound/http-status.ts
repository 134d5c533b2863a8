// How an HTTP answer counts for a step's retries: read by the http and slack steps (the step runner
// only sees the verdict and the Retry-After hint).

/** `Retry-After` in seconds or as an HTTP date → milliseconds from now; undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

export type StatusClass = 'success' | 'retry' | 'fail';

/** 2xx succeeds; 408, 425, 429 and 5xx are worth another try; anything else (3xx included) fails at once. */
export function classifyHttpStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return 'success';
  if (status === 408 || status === 425 || status === 429 || (status >= 500 && status < 600)) return 'retry';
  return 'fail';
}
