import { Client } from 'pg';
import { bootApp, fire, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { createFlow, FINAL_STATUSES, finished } from './support/flow-runs';
import { waitFor } from './support/wait-for';

const EVENT = 'hookflow.execution.failed';

describe('hookflow.execution.failed: failed executions reported on the event bus (API.md §12)', () => {
  let t: TestApp;
  let rx: Receiver;
  let db: Client;
  let listener = '';

  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await bootApp();
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await t.close();
    await rx.stop();
  });

  async function runsOf(flowId: string): Promise<any[]> {
    return (await t.api('GET', `/api/v1/executions?flowId=${flowId}&limit=200`)).body.items;
  }

  async function published(): Promise<number> {
    const { rows } = await db.query('SELECT count(*)::int AS n FROM events WHERE type = $1', [EVENT]);
    return rows[0].n as number;
  }

  async function outbox(): Promise<number> {
    const { rows } = await db.query('SELECT count(*)::int AS n FROM execution_failures');
    return rows[0].n as number;
  }

  /** Until the publisher has taken every failure row (each written with its execution's status). */
  async function drained(): Promise<void> {
    await waitFor(async () => (await outbox()) === 0, 10_000);
  }

  it('publishes one event to the listening flow, and that flow failing publishes none', async () => {
    rx.script('/down', [{ status: 500 }]);
    rx.script('/alert', [{ status: 500 }]);
    // The error workflow: posts the failure on, and fails itself (its receiver is down too).
    listener = (
      await createFlow(t, {
        name: 'alerts',
        trigger: { type: 'event', event: EVENT },
        steps: [
          {
            id: 'post',
            type: 'http',
            method: 'POST',
            url: `${rx.url}/alert`,
            body: { failure: '{{ event.body }}' },
            retry: { attempts: 1 },
          },
        ],
      })
    ).id;
    const payments = await createFlow(t, {
      name: 'payments',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'prepare', type: 'transform', expression: '{"a": 1}' },
        { id: 'call', type: 'http', method: 'POST', url: `${rx.url}/down`, retry: { attempts: 1 } },
      ],
    });
    const ex = await finished(t, (await fire(payments.hook, {})).body.executionId);
    expect(ex.status).toBe('failed');

    const [alert] = await waitFor(async () => {
      const runs = await runsOf(listener);
      return runs.length > 0 && FINAL_STATUSES.includes(runs[0].status) ? runs : null;
    }, 15_000);
    expect(alert.status).toBe('failed');
    const full = (await t.api('GET', `/api/v1/executions/${alert.id}`)).body;
    expect(full.event).toMatchObject({ type: 'event', name: EVENT });
    const data = {
      executionId: ex.id,
      flowId: payments.id,
      flowName: 'payments',
      stepId: 'call',
      error: ex.error,
      at: ex.finishedAt,
    };
    expect(full.event.body).toEqual(data);
    expect(rx.at('/alert').map((r) => r.json)).toEqual([{ failure: data }]);

    // The alert flow failed too: started by a hookflow.* event, it reports nothing (the loop guard).
    // Its failure row, if any, was written with its status; an empty outbox means it was dealt with.
    await drained();
    expect(await runsOf(listener)).toHaveLength(1);
    expect(await published()).toBe(1);
    expect(await outbox()).toBe(0);

    // Retried and failed again: a new failure, a new event.
    expect((await t.api('POST', `/api/v1/executions/${ex.id}/retry`)).status).toBe(202);
    await waitFor(async () => {
      const runs = await runsOf(listener);
      return runs.length === 2 && runs.every((r) => FINAL_STATUSES.includes(r.status));
    }, 15_000);
    await drained();
    expect(await runsOf(listener)).toHaveLength(2);
    expect(await published()).toBe(2);
  });

  it('reports an execution that failed at birth (its filter failed), with no step', async () => {
    const broken = await createFlow(t, {
      name: 'broken filter',
      trigger: { type: 'webhook' },
      filter: '$number(event.body.x) > 1',
      steps: [{ id: 'x', type: 'transform', expression: '1' }],
    });
    const before = (await runsOf(listener)).length;
    const res = await fire(broken.hook, { x: 'not a number' });
    expect(res.body.status).toBe('failed');
    const runs = await waitFor(async () => {
      const all = await runsOf(listener);
      return all.length === before + 1 ? all : null;
    }, 15_000);
    const full = (await t.api('GET', `/api/v1/executions/${runs[0].id}`)).body;
    expect(full.event.body).toMatchObject({
      executionId: res.body.executionId,
      flowId: broken.id,
      flowName: 'broken filter',
      stepId: null,
      error: expect.stringMatching(/^filter failed: /),
    });
  });

  it('publishes nothing while no flow listens', async () => {
    expect((await t.api('PATCH', `/api/v1/flows/${listener}`, { enabled: false })).status).toBe(200);
    const lonely = await createFlow(t, {
      name: 'nobody listens',
      trigger: { type: 'webhook' },
      steps: [{ id: 'call', type: 'http', method: 'POST', url: `${rx.url}/down`, retry: { attempts: 1 } }],
    });
    const count = await published();
    const ex = await finished(t, (await fire(lonely.hook, {})).body.executionId);
    expect(ex.status).toBe('failed');
    // Failures reach the bus only through the outbox, written with the failed status: once it is
    // empty, nothing about this execution can still be published.
    await drained();
    expect(await published()).toBe(count);
    expect(await outbox()).toBe(0);
    expect((await t.api('PATCH', `/api/v1/flows/${listener}`, { enabled: true })).status).toBe(200);
  });

  it('publishes a failure committed just before the process died, once the next process is up', async () => {
    rx.script('/ok', [{ status: 200 }]);
    const flow = await createFlow(t, {
      name: 'died after commit',
      trigger: { type: 'webhook' },
      steps: [{ id: 'call', type: 'http', method: 'POST', url: `${rx.url}/ok` }],
    });
    const ex = await finished(t, (await fire(flow.hook, {})).body.executionId);
    expect(ex.status).toBe('succeeded');
    const before = (await runsOf(listener)).length;
    await t.close();
    // What the runner's last write does, with no process left to publish anything afterwards.
    await db.query(
      `UPDATE executions SET status = 'failed', error = 'step call failed: HTTP 502', finished_at = now(),
              steps = jsonb_set(steps, '{call,status}', '"failed"') WHERE id = $1`,
      [ex.id],
    );
    expect(await outbox()).toBe(1);
    t = await bootApp();
    const runs = await waitFor(async () => {
      const all = await runsOf(listener);
      return all.length === before + 1 ? all : null;
    }, 15_000);
    const full = (await t.api('GET', `/api/v1/executions/${runs[0].id}`)).body;
    expect(full.event.body).toMatchObject({
      executionId: ex.id,
      stepId: 'call',
      error: 'step call failed: HTTP 502',
    });
    await waitFor(async () => (await outbox()) === 0, 5000);
  });
});
