import { Client } from 'pg';
import { bootApp, TestApp } from './support/app';
import { createFlow, FINAL_STATUSES, finished } from './support/flow-runs';
import { waitFor } from './support/wait-for';

describe('event bus: POST /events, emit steps, chains and the depth limit', () => {
  let t: TestApp;
  let db: Client;

  beforeAll(async () => {
    t = await bootApp();
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await t.close();
  });

  const listener = (event: string, extra: Record<string, unknown> = {}) => ({
    trigger: { type: 'event', event },
    steps: [{ id: 'echo', type: 'transform', expression: "{ 'got': event.body, 'name': event.name }" }],
    ...extra,
  });

  async function executionsOf(flowId: string): Promise<any[]> {
    const res = await t.api('GET', `/api/v1/executions?flowId=${flowId}&limit=200`);
    expect(res.status).toBe(200);
    return res.body.items;
  }

  async function depthOf(executionId: string): Promise<number> {
    const { rows } = await db.query('SELECT depth FROM executions WHERE id = $1', [executionId]);
    return rows[0].depth as number;
  }

  it('fans an event out to every enabled flow listening to its type, and only to those', async () => {
    const { id: a } = await createFlow(t, listener('order.paid'));
    const { id: b } = await createFlow(t, listener('order.paid'));
    const { id: other } = await createFlow(t, listener('order.refunded'));
    const { id: disabled } = await createFlow(t, listener('order.paid', { enabled: false }));
    const { id: deleted } = await createFlow(t, listener('order.paid'));
    expect((await t.api('DELETE', `/api/v1/flows/${deleted}`)).status).toBe(204);

    const res = await t.api('POST', '/api/v1/events', { type: 'order.paid', data: { orderId: 7 } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ eventId: expect.any(String), executionIds: expect.any(Array) });
    expect(res.body.executionIds).toHaveLength(2);

    const runs = await Promise.all(res.body.executionIds.map((id: string) => finished(t, id)));
    expect(runs.map((r) => r.flowId).sort()).toEqual([a, b].sort());
    for (const run of runs) {
      expect(run.status).toBe('succeeded');
      expect(run.event).toEqual({
        id: res.body.eventId,
        type: 'event',
        name: 'order.paid',
        receivedAt: expect.any(String),
        body: { orderId: 7 },
      });
      expect(run.steps[0].output).toEqual({ got: { orderId: 7 }, name: 'order.paid' });
      expect(await depthOf(run.id)).toBe(0);
    }
    for (const id of [other, disabled, deleted]) expect(await executionsOf(id)).toEqual([]);
  });

  it('answers 202 with no executions when no flow listens', async () => {
    const res = await t.api('POST', '/api/v1/events', { type: 'nobody.listens', data: [1, 2] });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ eventId: expect.any(String), executionIds: [] });
  });

  it('keeps an event that a flow filters out, as a filtered execution', async () => {
    const { id: flowId } = await createFlow(
      t,
      listener('invoice.created', { filter: 'event.body.amount > 100' }),
    );
    const small = await t.api('POST', '/api/v1/events', { type: 'invoice.created', data: { amount: 5 } });
    expect(small.status).toBe(202);
    expect((await finished(t, small.body.executionIds[0])).status).toBe('filtered');
    const big = await t.api('POST', '/api/v1/events', { type: 'invoice.created', data: { amount: 500 } });
    expect((await finished(t, big.body.executionIds[0])).status).toBe('succeeded');
    expect(await executionsOf(flowId)).toHaveLength(2);
  });

  it('answers a repeated idempotencyKey with the first result and starts nothing', async () => {
    const { id: flowId } = await createFlow(t, listener('user.signed_up'));
    const body = { type: 'user.signed_up', data: { id: 1 }, idempotencyKey: 'signup-1' };
    const first = await t.api('POST', '/api/v1/events', body);
    expect(first.status).toBe(202);
    expect(first.body.executionIds).toHaveLength(1);
    await finished(t, first.body.executionIds[0]);

    const again = await t.api('POST', '/api/v1/events', { ...body, data: { id: 'changed' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({
      eventId: first.body.eventId,
      executionIds: first.body.executionIds,
      duplicate: true,
    });
    expect(await executionsOf(flowId)).toHaveLength(1);
  });

  it('starts one set of runs when the same key arrives many times at once', async () => {
    const { id: flowId } = await createFlow(t, listener('burst.key'));
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        t.api('POST', '/api/v1/events', { type: 'burst.key', data: {}, idempotencyKey: 'same-burst' }),
      ),
    );
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(7);
    const ids = new Set(answers.map((a) => a.body.eventId));
    expect(ids.size).toBe(1);
    const runs = new Set(answers.map((a) => JSON.stringify(a.body.executionIds)));
    expect(runs.size).toBe(1);
    await finished(t, answers[0].body.executionIds[0]);
    expect(await executionsOf(flowId)).toHaveLength(1);
  });

  it('refuses bad input with 400 naming the field, and no key with 401', async () => {
    const missing = await t.api('POST', '/api/v1/events', { data: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toEqual(expect.arrayContaining([expect.stringContaining('type')]));
    const bad = await t.api('POST', '/api/v1/events', { type: 'has spaces', data: {} });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual(expect.arrayContaining([expect.stringContaining('type')]));
    const unknown = await t.api('POST', '/api/v1/events', { type: 'x', data: {}, colour: 'red' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toEqual(expect.arrayContaining([expect.stringContaining('colour')]));
    const emptyKey = await t.api('POST', '/api/v1/events', { type: 'x', data: {}, idempotencyKey: '' });
    expect(emptyKey.status).toBe(400);
    expect((await t.api('POST', '/api/v1/events', { type: 'x', data: {} }, 'wrong')).status).toBe(401);
  });

  it('chains flow A into flow B through an emit step, one level deeper', async () => {
    const { id: a } = await createFlow(t, {
      trigger: { type: 'event', event: 'chain.start' },
      steps: [
        { id: 'count', type: 'transform', expression: 'event.body.n + 1' },
        {
          id: 'next',
          type: 'emit',
          event: 'chain.{{ event.body.to }}',
          data: { n: '{{ steps.count }}', from: '{{ flow.id }}' },
        },
      ],
    });
    const { id: b } = await createFlow(t, listener('chain.next'));
    const started = await t.api('POST', '/api/v1/events', {
      type: 'chain.start',
      data: { n: 1, to: 'next' },
    });
    expect(started.status).toBe(202);
    const runA = await finished(t, started.body.executionIds[0]);
    expect(runA.flowId).toBe(a);
    expect(runA.status).toBe('succeeded');
    const emit = runA.steps[1];
    expect(emit).toMatchObject({ id: 'next', type: 'emit', status: 'succeeded' });
    expect(emit.output).toEqual({ eventId: expect.any(String), executionIds: [expect.any(String)] });
    expect(emit.attempts).toHaveLength(1);
    expect(emit.attempts[0].request).toEqual({ event: 'chain.next', data: { n: 2, from: a } });

    const runB = await finished(t, emit.output.executionIds[0]);
    expect(runB.flowId).toBe(b);
    expect(runB.status).toBe('succeeded');
    expect(runB.event).toMatchObject({ id: emit.output.eventId, type: 'event', name: 'chain.next' });
    expect(runB.steps[0].output).toEqual({ got: { n: 2, from: a }, name: 'chain.next' });
    expect(await depthOf(runA.id)).toBe(0);
    expect(await depthOf(runB.id)).toBe(1);
  });

  it('stops a self-emitting flow at depth 8 with a clear step error, and stays healthy', async () => {
    const { id: loop } = await createFlow(t, {
      trigger: { type: 'event', event: 'loop.tick' },
      steps: [{ id: 'again', type: 'emit', event: 'loop.tick', data: { hop: '{{ event.body.hop + 1 }}' } }],
    });
    const started = await t.api('POST', '/api/v1/events', { type: 'loop.tick', data: { hop: 0 } });
    expect(started.status).toBe(202);
    const runs = await waitFor(async () => {
      const items = await executionsOf(loop);
      return items.length === 9 && items.every((e) => FINAL_STATUSES.includes(e.status)) ? items : null;
    }, 30_000);
    const byDepth = new Map<number, any>();
    for (const r of runs) byDepth.set(await depthOf(r.id), await finished(t, r.id));
    expect([...byDepth.keys()].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (let d = 0; d < 8; d++) {
      const run = byDepth.get(d);
      expect(run.status).toBe('succeeded');
      expect(run.event.body).toEqual({ hop: d });
    }
    const last = byDepth.get(8);
    expect(last.status).toBe('failed');
    expect(last.steps[0].status).toBe('failed');
    expect(last.steps[0].error).toBe(
      'emit chain too deep: this execution is at depth 8 and the limit is 8 ' +
        '(does a flow emit an event it listens to?); "loop.tick" was not published',
    );
    expect(last.steps[0].attempts).toHaveLength(1);
    expect(last.error).toContain('step again failed: emit chain too deep');
    // Nothing else starts after the failure, and the process still answers.
    expect(await executionsOf(loop)).toHaveLength(9);
    const health = await fetch(`${t.url}/health`);
    expect(health.status).toBe(200);
  });

  it('validates emit steps when the flow is saved', async () => {
    const res = await t.api('POST', '/api/v1/flows', {
      name: 'bad emit',
      trigger: { type: 'webhook' },
      steps: [{ id: 'e', type: 'emit', event: 'has spaces', data: {}, colour: 1 }],
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(
      expect.arrayContaining([
        expect.stringContaining('steps[0].event'),
        expect.stringContaining('steps[0].colour'),
      ]),
    );
    const syntax = await t.api('POST', '/api/v1/flows', {
      name: 'bad emit',
      trigger: { type: 'webhook' },
      steps: [{ id: 'e', type: 'emit', event: 'ok', data: { x: '{{ ( }}' } }],
    });
    expect(syntax.status).toBe(400);
    expect(syntax.body.message).toEqual([expect.stringMatching(/^steps\[0\]\.data\.x: /)]);
  });
});
