import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import { STEPS_QUEUE } from 'src/queue/queue.constants';
import { bootApp, fire, TestApp } from './support/app';
import { OutboundServer } from './support/outbound-server';
import { createFlow, finished } from './support/flow-runs';
import { waitFor } from './support/wait-for';

describe('outbound: delay steps, and retry / replay / cancel over REST', () => {
  let t: TestApp;
  let srv: OutboundServer;

  beforeAll(async () => {
    srv = await new OutboundServer('127.0.0.1').start();
    t = await bootApp();
  });
  afterAll(async () => {
    await t.close();
    await srv.stop();
  });

  async function start(hook: string, payload: unknown): Promise<string> {
    const accepted = await fire(hook, payload);
    expect(accepted.status).toBe(202);
    return accepted.body.executionId as string;
  }

  async function get(id: string): Promise<any> {
    const res = await t.api('GET', `/api/v1/executions/${id}`);
    expect(res.status).toBe(200);
    return res.body;
  }

  const waiting = (id: string): Promise<any> =>
    waitFor(async () => {
      const ex = await get(id);
      return ex.status === 'waiting' && ex.steps[0].status === 'waiting' ? ex : null;
    }, 10_000);

  async function delayedJobsOf(executionId: string): Promise<number> {
    const queue = t.app.get<Queue>(getQueueToken(STEPS_QUEUE));
    const delayed = await queue.getDelayed();
    return delayed.filter((j) => (j.data as { executionId: string }).executionId === executionId).length;
  }

  async function auditActions(executionId: string): Promise<string[]> {
    const rows: Array<{ action: string }> = await t.app
      .get(DataSource)
      .query('SELECT action FROM audit_log WHERE target = $1 ORDER BY id', [`execution:${executionId}`]);
    return rows.map((r) => r.action);
  }

  it('waits `ms` in a delayed job: `waiting` meanwhile, delivery not before the time is up', async () => {
    const { hook } = await createFlow(t, {
      steps: [
        { id: 'pause', type: 'delay', ms: 1500 },
        {
          id: 'after',
          type: 'http',
          method: 'POST',
          url: `${srv.url}/after-ms`,
          body: { n: '{{ event.body.n }}' },
        },
      ],
    });
    const fired = Date.now();
    const id = await start(hook, { n: 1 });
    const during = await waiting(id);
    expect(during.steps[0].resumeAt).toEqual(expect.any(String));
    expect(Date.parse(during.steps[0].resumeAt)).toBeGreaterThanOrEqual(fired + 1500);
    expect(during.steps[1].status).toBe('pending');
    expect(srv.at('/after-ms')).toHaveLength(0);
    expect(await delayedJobsOf(id)).toBe(1);
    const ex = await finished(t, id);
    expect(ex.status).toBe('succeeded');
    const [delivered] = srv.at('/after-ms');
    expect(delivered.at - fired).toBeGreaterThanOrEqual(1500);
    expect(delivered.at - fired).toBeLessThan(1500 + 5000);
    expect(ex.steps[0].output.waitedMs).toBeGreaterThanOrEqual(1500);
    expect(ex.steps[0].output.waitedMs).toBeLessThan(1500 + 5000);
    expect(ex.steps[0].attempts).toHaveLength(1);
  });

  it('waits `until` a templated ISO time, and goes straight on when it has passed', async () => {
    const { hook } = await createFlow(t, {
      steps: [
        { id: 'pause', type: 'delay', until: '{{ event.body.at }}' },
        {
          id: 'after',
          type: 'http',
          method: 'POST',
          url: `${srv.url}/after-until`,
          body: { k: '{{ event.body.k }}' },
        },
      ],
    });
    const at = Date.now() + 1200;
    const future = await start(hook, { at: new Date(at).toISOString(), k: 'future' });
    const past = await start(hook, { at: '2001-01-01T00:00:00Z', k: 'past' });
    await waiting(future);
    const pastEx = await finished(t, past);
    expect(pastEx.status).toBe('succeeded');
    expect(pastEx.steps[0].output).toEqual({ waitedMs: 0 });
    const ex = await finished(t, future);
    expect(ex.status).toBe('succeeded');
    const delivered = srv.at('/after-until').find((s) => s.body.includes('future'));
    expect(delivered?.at).toBeGreaterThanOrEqual(at);
  });

  it('cancel during a delay: 200 with the execution, steps cancelled, the delivery never happens', async () => {
    const { hook } = await createFlow(t, {
      steps: [
        { id: 'pause', type: 'delay', ms: 1500 },
        { id: 'after', type: 'http', method: 'POST', url: `${srv.url}/never` },
      ],
    });
    const id = await start(hook, {});
    await waiting(id);
    const res = await t.api('POST', `/api/v1/executions/${id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, status: 'cancelled', finishedAt: expect.any(String) });
    expect(res.body.steps.map((s: any) => [s.id, s.status])).toEqual([
      ['pause', 'cancelled'],
      ['after', 'cancelled'],
    ]);
    expect(await delayedJobsOf(id)).toBe(0);
    // Past the moment the delay was due, nothing arrives and nothing moves.
    await expect(waitFor(() => srv.at('/never').length > 0, 2500)).rejects.toThrow('timed out');
    const ex = await get(id);
    expect(ex.status).toBe('cancelled');
    expect(ex.steps.map((s: any) => s.status)).toEqual(['cancelled', 'cancelled']);
    expect(await auditActions(id)).toEqual(['execution.cancelled']);
    const again = await t.api('POST', `/api/v1/executions/${id}/cancel`);
    expect(again.status).toBe(409);
  });

  it('retry resumes a failed execution at the failed step: same execution, attempts appended', async () => {
    let fixed = false;
    srv.respond((req) =>
      req.path === '/flaky' && !fixed
        ? { status: 500, body: { broken: true } }
        : { status: 200, body: { ok: true } },
    );
    const { hook } = await createFlow(t, {
      steps: [
        { id: 'shape', type: 'transform', expression: "{ 'order': event.body.order }" },
        {
          id: 'call',
          type: 'http',
          method: 'POST',
          url: `${srv.url}/flaky`,
          body: '{{ steps.shape }}',
          sign: { scheme: 'standard-webhooks', secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` },
          retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 50 } },
        },
        { id: 'after', type: 'transform', expression: 'steps.call.status' },
      ],
    });
    const id = await start(hook, { order: 7 });
    const failed = await finished(t, id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('step call failed: HTTP 500');
    expect(failed.steps.map((s: any) => s.status)).toEqual(['succeeded', 'failed', 'pending']);
    expect(failed.steps[1].attempts.map((a: any) => a.n)).toEqual([1, 2]);

    fixed = true;
    const res = await t.api('POST', `/api/v1/executions/${id}/retry`);
    expect(res.status).toBe(202);
    const ex = await finished(t, id);
    expect(ex.id).toBe(id);
    expect(ex.status).toBe('succeeded');
    expect(ex.error).toBeUndefined();
    expect(ex.steps.map((s: any) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(ex.steps[0].attempts).toHaveLength(1);
    expect(ex.steps[1].attempts.map((a: any) => [a.n, a.response.status])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    expect(ex.steps[2].output).toBe(200);
    expect(srv.at('/flaky').map((s) => JSON.parse(s.body))).toEqual([
      { order: 7 },
      { order: 7 },
      { order: 7 },
    ]);
    // The attempt after the retry is the same delivery: the same webhook-id as before.
    expect(new Set(srv.at('/flaky').map((s) => s.headers['webhook-id'])).size).toBe(1);
    expect(await auditActions(id)).toEqual(['execution.retried']);
    // Only a failed execution can be retried.
    expect((await t.api('POST', `/api/v1/executions/${id}/retry`)).status).toBe(409);
  });

  it('replay makes a new execution with the same event, run by the current flow version', async () => {
    srv.respond(() => ({ status: 200, body: { ok: true } }));
    const { id: flowId, hook } = await createFlow(t, {
      steps: [
        { id: 'send', type: 'http', method: 'POST', url: `${srv.url}/replay-v1`, body: '{{ event.body }}' },
      ],
    });
    const first = await finished(t, await start(hook, { order: 99 }));
    expect(first.status).toBe('succeeded');
    const updated = await t.api('PUT', `/api/v1/flows/${flowId}`, {
      name: 'actions',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'send', type: 'http', method: 'POST', url: `${srv.url}/replay-v2`, body: '{{ event.body }}' },
      ],
    });
    expect(updated.status).toBe(200);

    const res = await t.api('POST', `/api/v1/executions/${first.id}/replay`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ executionId: expect.any(String) });
    expect(res.body.executionId).not.toBe(first.id);
    const replayed = await finished(t, res.body.executionId);
    expect(replayed.status).toBe('succeeded');
    expect(replayed.flowId).toBe(flowId);
    expect(replayed.flowVersion).toBe(2);
    expect(replayed.event).toEqual(first.event);
    expect(srv.at('/replay-v1').map((s) => JSON.parse(s.body))).toEqual([{ order: 99 }]);
    expect(srv.at('/replay-v2').map((s) => JSON.parse(s.body))).toEqual([{ order: 99 }]);
    expect(await auditActions(first.id)).toEqual(['execution.replayed']);
    // The original is untouched.
    expect((await get(first.id)).steps[0].attempts).toHaveLength(1);
  });

  it('answers 404 for an unknown execution and 409 for a replay of a deleted flow', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const action of ['retry', 'replay', 'cancel']) {
      expect((await t.api('POST', `/api/v1/executions/${unknown}/${action}`)).status).toBe(404);
    }
    const { id: flowId, hook } = await createFlow(t, {
      steps: [{ id: 'x', type: 'transform', expression: '1' }],
    });
    const ex = await finished(t, await start(hook, {}));
    expect((await t.api('DELETE', `/api/v1/flows/${flowId}`)).status).toBe(204);
    expect((await t.api('POST', `/api/v1/executions/${ex.id}/replay`)).status).toBe(409);
  });

  it('a waiting delay survives a restart of the app', async () => {
    const { hook } = await createFlow(t, {
      steps: [
        { id: 'pause', type: 'delay', ms: 2000 },
        { id: 'after', type: 'http', method: 'POST', url: `${srv.url}/after-restart` },
      ],
    });
    const id = await start(hook, {});
    await waiting(id);
    await t.close();
    t = await bootApp();
    const ex = await finished(t, id);
    expect(ex.status).toBe('succeeded');
    expect(srv.at('/after-restart')).toHaveLength(1);
  });
});
