import { PoolClosedError } from 'src/steps/connections/connection-pool';
import { isOutboundPolicyError } from 'src/steps/outbound/guarded-lookup';
import { StepFailure } from 'src/steps/step-failure';

/** A step's `timeoutMs` ran out (connecting included): retried like any timeout (API.md section 5). */
export class DeadlineError extends Error {
  readonly code = 'ETIMEDOUT';
}

/** Settles with `work`, or rejects with a DeadlineError after `ms`. The work itself is not cancelled. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export type ClientError = Error & { code?: unknown; errno?: unknown };

/**
 * What a client threw, as the step's failure: the address guard's refusal and whatever `isFinal`
 * calls the service's own refusal are final; connection errors and timeouts are retried.
 */
export function connectionFailure(
  e: unknown,
  request: unknown,
  isFinal: (e: ClientError) => boolean,
): StepFailure {
  if (e instanceof StepFailure) {
    return e.detail.request === undefined
      ? new StepFailure(e.message, e.retryable, { ...e.detail, request })
      : e;
  }
  if (isOutboundPolicyError(e)) return new StepFailure(e.message, false, { request });
  const err: ClientError = e instanceof Error ? e : new Error(String(e));
  const message = err.message || (typeof err.code === 'string' ? err.code : 'connection failed');
  if (e instanceof DeadlineError || e instanceof PoolClosedError)
    return new StepFailure(message, true, { request });
  return new StepFailure(message, !isFinal(err), { request });
}
