// Reads the tests make of a flow's state from outside: its executions in the database and its
// trigger's status over the API.
import { Client } from 'pg';
import type { TestApp } from './app';

/** How many executions a flow has, whatever their status. */
export async function executionCount(db: Client, flowId: string): Promise<number> {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM executions WHERE flow_id = $1', [flowId]);
  return rows[0].n as number;
}

/** A flow's broker trigger status, as `GET /api/v1/flows/{id}` shows it. */
export async function triggerStatus(app: Pick<TestApp, 'api'>, flowId: string): Promise<any> {
  return (await app.api('GET', `/api/v1/flows/${flowId}`)).body.trigger.status;
}
