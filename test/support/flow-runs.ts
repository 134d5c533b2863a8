import { fire, TestApp } from './app';
import { waitFor } from './wait-for';

/** The statuses an execution never leaves (API.md section 5), as the API reports them. */
export const FINAL_STATUSES: readonly string[] = ['succeeded', 'failed', 'filtered', 'cancelled'];

export const isFinal = (status: unknown): boolean => FINAL_STATUSES.includes(status as string);

export interface CreatedFlow {
  id: string;
  /** The trigger URL; '' for a flow whose trigger has none (event, schedule, broker). */
  hook: string;
  /** The 201 body. */
  flow: any;
}

/** POSTs a flow (a webhook flow named 'e2e' unless `body` says otherwise) and expects 201. */
export async function createFlow(t: TestApp, body: Record<string, unknown>): Promise<CreatedFlow> {
  const res = await t.api('POST', '/api/v1/flows', { name: 'e2e', trigger: { type: 'webhook' }, ...body });
  expect(res.status).toBe(201);
  const token = res.body.trigger?.token as string | undefined;
  return { id: res.body.id as string, hook: token ? `${t.url}/hooks/${token}` : '', flow: res.body };
}

/** Polls the execution until its status is final; returns the record. */
export function finished(t: TestApp, executionId: string, timeoutMs = 20_000): Promise<any> {
  return waitFor(async () => {
    const res = await t.api('GET', `/api/v1/executions/${executionId}`);
    return isFinal(res.body?.status) ? res.body : null;
  }, timeoutMs);
}

/** Fires `payload` at a trigger URL, expects 202, and waits the execution out. */
export async function runToEnd(t: TestApp, hook: string, payload: unknown, timeoutMs = 20_000): Promise<any> {
  const accepted = await fire(hook, payload);
  expect(accepted.status).toBe(202);
  return finished(t, accepted.body.executionId as string, timeoutMs);
}
