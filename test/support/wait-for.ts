const TIMED_OUT = Symbol('timed out');

/**
 * Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with the last value).
 * A call to `fn` that never settles counts against the same deadline: the wait stays bounded.
 */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        Promise.resolve().then(fn),
        new Promise<typeof TIMED_OUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMED_OUT), Math.max(1, deadline - Date.now()));
        }),
      ]).finally(() => clearTimeout(timer));
      if (outcome === TIMED_OUT) {
        lastError = new Error('the last check did not settle before the deadline');
        break;
      }
      last = outcome;
      if (last) return last;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `waitFor timed out after ${timeoutMs} ms; last value: ${JSON.stringify(last)}${lastError ? `; last error: ${(lastError as Error).message}` : ''}`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
