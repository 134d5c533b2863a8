import { bootApp, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { createFlow, finished } from './support/flow-runs';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

describe('manual runs and dry runs', () => {
  let t: TestApp;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await bootApp();
    expect((await t.api('PUT', '/api/v1/secrets/DRY_TOKEN', { value: 'tok-s3cret-value' })).status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await rx.stop();
  });

  async function executionCount(flowId: string): Promise<number> {
    const res = await t.api('GET', `/api/v1/executions?flowId=${flowId}&limit=200`);
    expect(res.status).toBe(200);
    return res.body.items.length as number;
  }

  describe('POST /flows/{id}/run', () => {
    it('runs the flow by hand with the payload as event.body: 202 {executionId}', async () => {
      const { id: id } = await createFlow(t, {
        steps: [
          {
            id: 'send',
            type: 'http',
            method: 'POST',
            url: `${rx.url}/manual`,
            body: { order: '{{ event.body.order }}', kind: '{{ event.type }}' },
          },
        ],
      });
      const res = await t.api('POST', `/api/v1/flows/${id}/run`, { payload: { order: 42 } });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ executionId: expect.any(String) });
      const ex = await finished(t, res.body.executionId);
      expect(ex.status).toBe('succeeded');
      expect(ex.flowId).toBe(id);
      expect(ex.event).toEqual({
        id: expect.any(String),
        type: 'manual',
        receivedAt: expect.any(String),
        body: { order: 42 },
      });
      expect(rx.at('/manual').map((r) => r.json)).toEqual([{ order: 42, kind: 'manual' }]);
    });

    it('runs a disabled flow, and applies its filter', async () => {
      const { id: id } = await createFlow(t, {
        enabled: false,
        filter: 'event.body.go = true',
        steps: [{ id: 'x', type: 'transform', expression: 'event.body' }],
      });
      const go = await t.api('POST', `/api/v1/flows/${id}/run`, { payload: { go: true } });
      expect(go.status).toBe(202);
      expect((await finished(t, go.body.executionId)).status).toBe('succeeded');
      const stop = await t.api('POST', `/api/v1/flows/${id}/run`, { payload: { go: false } });
      expect(stop.status).toBe(202);
      expect((await finished(t, stop.body.executionId)).status).toBe('filtered');
      const none = await t.api('POST', `/api/v1/flows/${id}/run`, {});
      expect(none.status).toBe(202);
      const empty = await finished(t, none.body.executionId);
      expect(empty.event.body).toEqual({});
      expect(empty.status).toBe('filtered');
    });

    it('answers 404 for unknown or deleted flows, 400 for unknown fields, 401 without a key', async () => {
      expect((await t.api('POST', `/api/v1/flows/${UNKNOWN_ID}/run`, { payload: 1 })).status).toBe(404);
      expect((await t.api('POST', '/api/v1/flows/nope/run', { payload: 1 })).status).toBe(404);
      const { id: id } = await createFlow(t, { steps: [] });
      const extra = await t.api('POST', `/api/v1/flows/${id}/run`, { payload: 1, colour: 'red' });
      expect(extra.status).toBe(400);
      expect(extra.body.message).toEqual(expect.arrayContaining([expect.stringContaining('colour')]));
      expect((await t.api('POST', `/api/v1/flows/${id}/run`, {}, 'wrong')).status).toBe(401);
      expect((await t.api('DELETE', `/api/v1/flows/${id}`)).status).toBe(204);
      expect((await t.api('POST', `/api/v1/flows/${id}/run`, { payload: 1 })).status).toBe(404);
    });
  });

  describe('POST /flows/{id}/test', () => {
    const pushFlow = () => ({
      filter: "event.body.ref = 'refs/heads/main'",
      steps: [
        {
          id: 'summary',
          type: 'transform',
          expression: "{ 'who': event.body.pusher.name, 'n': $count(event.body.commits) }",
        },
        {
          id: 'forward',
          type: 'http',
          if: 'steps.summary.n > 0',
          method: 'POST',
          url: `${rx.url}/dry`,
          headers: {
            authorization: 'Bearer {{ $secrets.DRY_TOKEN }}',
            'x-event': '{{ event.headers."x-kind" }}',
          },
          query: { who: '{{ steps.summary.who }}' },
          body: { who: '{{ steps.summary.who }}', n: '{{ steps.summary.n }}' },
        },
        {
          id: 'only_empty',
          type: 'http',
          if: 'steps.summary.n = 0',
          method: 'POST',
          url: `${rx.url}/dry-empty`,
        },
        {
          id: 'broken',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/dry-broken`,
          body: { ok: 'fine', bad: "{{ $error('no such thing') }}" },
        },
        { id: 'announce', type: 'emit', event: 'push.{{ steps.summary.who }}', data: '{{ steps.summary }}' },
        { id: 'wait', type: 'delay', ms: 1000 },
      ],
    });
    const push = {
      headers: { 'X-Kind': 'push' },
      body: { ref: 'refs/heads/main', pusher: { name: 'ada' }, commits: [{}, {}] },
    };

    it('shows what each step would send, with secrets masked, and sends and writes nothing', async () => {
      const { id: id } = await createFlow(t, pushFlow());
      const before = rx.requests.length;
      const res = await t.api('POST', `/api/v1/flows/${id}/test`, { event: push });
      expect(res.status).toBe(200);
      expect(res.body.filter).toEqual({ matched: true });
      expect(res.body.steps.map((s: any) => [s.id, s.status])).toEqual([
        ['summary', 'would_run'],
        ['forward', 'would_run'],
        ['only_empty', 'skipped'],
        ['broken', 'error'],
        ['announce', 'would_run'],
        ['wait', 'would_run'],
      ]);
      expect(res.body.steps[0]).toEqual({ id: 'summary', status: 'would_run', output: { who: 'ada', n: 2 } });
      expect(res.body.steps[1]).toEqual({
        id: 'forward',
        status: 'would_run',
        request: {
          method: 'POST',
          url: `${rx.url}/dry?who=ada`,
          headers: {
            authorization: 'Bearer ***',
            'x-event': 'push',
            'content-type': 'application/json',
            'user-agent': 'hookflow',
          },
          body: { who: 'ada', n: 2 },
        },
      });
      expect(res.body.steps[2]).toEqual({
        id: 'only_empty',
        status: 'skipped',
        reason: 'if is false: steps.summary.n = 0',
      });
      expect(res.body.steps[3]).toEqual({
        id: 'broken',
        status: 'error',
        error: 'steps[3].body.bad: no such thing (at position 8)',
      });
      expect(res.body.steps[4]).toEqual({
        id: 'announce',
        status: 'would_run',
        request: { event: 'push.ada', data: { who: 'ada', n: 2 } },
      });
      expect(res.body.steps[5]).toMatchObject({ id: 'wait', status: 'would_run' });
      expect(JSON.stringify(res.body)).not.toContain('tok-s3cret-value');

      expect(rx.requests.length).toBe(before);
      expect(await executionCount(id)).toBe(0);
      const audit = await t.api('GET', `/api/v1/audit?flowId=${id}`);
      expect(audit.status).toBe(200);
      expect(audit.body.items.map((a: any) => a.action)).toEqual(['flow.created']);
    });

    it('reports a filter that does not match, every step skipped', async () => {
      const { id: id } = await createFlow(t, pushFlow());
      const res = await t.api('POST', `/api/v1/flows/${id}/test`, {
        event: { body: { ref: 'refs/heads/dev', pusher: { name: 'bob' }, commits: [] } },
      });
      expect(res.status).toBe(200);
      expect(res.body.filter).toEqual({ matched: false });
      expect(res.body.steps).toEqual(
        ['summary', 'forward', 'only_empty', 'broken', 'announce', 'wait'].map((stepId) => ({
          id: stepId,
          status: 'skipped',
          reason: 'the filter did not match the event',
        })),
      );
      expect(await executionCount(id)).toBe(0);
    });

    it('reports expression errors in if and transform with their field path', async () => {
      const { id: id } = await createFlow(t, {
        steps: [
          { id: 'shape', type: 'transform', expression: "$error('bad shape')" },
          { id: 'cond', type: 'transform', if: "$error('bad if')", expression: '1' },
          { id: 'after', type: 'transform', expression: "$exists(steps.shape) ? 'has' : 'none'" },
          { id: 'url', type: 'http', method: 'GET', url: '{{ event.body.where }}' },
        ],
      });
      const res = await t.api('POST', `/api/v1/flows/${id}/test`, {
        event: { body: { where: 'not a url' } },
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        filter: { matched: true },
        steps: [
          { id: 'shape', status: 'error', error: 'steps[0].expression: bad shape (at position 7)' },
          { id: 'cond', status: 'error', error: 'steps[1].if: bad if (at position 7)' },
          { id: 'after', status: 'would_run', output: 'none' },
          { id: 'url', status: 'error', error: expect.stringMatching(/^steps\[3\]\.url: invalid URL/) },
        ],
      });
    });

    it('fills in the event of a schedule or event trigger', async () => {
      const { id: scheduled } = await createFlow(t, {
        trigger: {
          type: 'schedule',
          cron: '0 9 * * *',
          timezone: 'Europe/Berlin',
          payload: { report: 'daily' },
        },
        steps: [{ id: 'e', type: 'transform', expression: 'event' }],
      });
      const res = await t.api('POST', `/api/v1/flows/${scheduled}/test`, {});
      expect(res.status).toBe(200);
      const event = res.body.steps[0].output;
      expect(event).toMatchObject({ type: 'schedule', body: { report: 'daily' } });
      expect(new Date(event.scheduledAt).getTime()).toBeGreaterThan(Date.now());

      const { id: onEvent } = await createFlow(t, {
        trigger: { type: 'event', event: 'order.paid' },
        steps: [{ id: 'e', type: 'transform', expression: 'event' }],
      });
      const res2 = await t.api('POST', `/api/v1/flows/${onEvent}/test`, { event: { body: { id: 3 } } });
      expect(res2.body.steps[0].output).toMatchObject({ type: 'event', name: 'order.paid', body: { id: 3 } });
      expect(await executionCount(scheduled)).toBe(0);
      expect(await executionCount(onEvent)).toBe(0);
    });

    it('answers 404 for an unknown flow and 400 for a bad body', async () => {
      expect((await t.api('POST', `/api/v1/flows/${UNKNOWN_ID}/test`, { event: {} })).status).toBe(404);
      const { id: id } = await createFlow(t, { steps: [] });
      expect((await t.api('POST', `/api/v1/flows/${id}/test`, { event: 'text' })).status).toBe(400);
      expect((await t.api('POST', `/api/v1/flows/${id}/test`, { event: {}, extra: 1 })).status).toBe(400);
      const ok = await t.api('POST', `/api/v1/flows/${id}/test`, { event: {} });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ filter: { matched: true }, steps: [] });
    });
  });
});
