/** A failed attempt. `retryable` decides whether the step's retry policy applies. */
export class StepFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly detail: { retryAfterMs?: number; request?: unknown; response?: unknown } = {},
  ) {
    super(message);
  }
}
