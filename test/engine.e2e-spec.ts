import { bootApp, fire, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { createFlow, finished, runToEnd } from './support/flow-runs';
import { waitFor } from './support/wait-for';

const fast = { attempts: 5, backoff: { type: 'fixed', delayMs: 50 } };

describe('engine: trigger URL → JSONata → step jobs → delivered and audited', () => {
  let t: TestApp;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await bootApp();
  });
  afterAll(async () => {
    await t.close();
    await rx.stop();
  });

  it('runs a 3-step flow and delivers a templated body and headers', async () => {
    const { hook } = await createFlow(t, {
      steps: [
        {
          id: 'summary',
          type: 'transform',
          expression: "{ 'who': event.body.user.name, 'n': $count(event.body.items) }",
        },
        {
          id: 'forward',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/three`,
          headers: { 'x-who': '{{ steps.summary.who }}', 'x-n': '{{ steps.summary.n }}' },
          query: { flow: '{{ flow.name }}' },
          body: {
            who: '{{ steps.summary.who }}',
            n: '{{ steps.summary.n }}',
            items: '{{ event.body.items }}',
            text: 'n={{ steps.summary.n }}',
          },
        },
        { id: 'after', type: 'transform', expression: 'steps.forward.body.ok' },
      ],
    });
    const accepted = await fire(hook, { user: { name: 'Ada' }, items: [1, 2, 3] });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ executionId: expect.any(String), status: 'queued' });
    const ex = await finished(t, accepted.body.executionId);
    expect(ex.status).toBe('succeeded');
    const [req] = rx.at('/three');
    expect(req.json).toEqual({ who: 'Ada', n: 3, items: [1, 2, 3], text: 'n=3' });
    expect(req.headers['x-who']).toBe('Ada');
    expect(req.headers['x-n']).toBe('3');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.url).toBe('/three?flow=e2e');
    expect(ex.steps.map((s: any) => [s.id, s.status, s.attempts.length])).toEqual([
      ['summary', 'succeeded', 1],
      ['forward', 'succeeded', 1],
      ['after', 'succeeded', 1],
    ]);
    expect(ex.steps[2].output).toBe(true);
    expect(ex.steps[1].attempts[0]).toMatchObject({
      n: 1,
      request: {
        method: 'POST',
        url: `${rx.url}/three?flow=e2e`,
        body: { who: 'Ada', n: 3, items: [1, 2, 3], text: 'n=3' },
      },
      response: { status: 200, body: { ok: true } },
    });
    expect(ex.event).toMatchObject({
      type: 'webhook',
      method: 'POST',
      body: { user: { name: 'Ada' }, items: [1, 2, 3] },
    });
    expect(ex.event.headers['content-type']).toBe('application/json');
  });

  it('retries 503, 503 then succeeds: three recorded attempts', async () => {
    rx.script('/flaky', [
      { status: 503, body: { down: true } },
      { status: 503 },
      { status: 200, body: { fine: true } },
    ]);
    const { hook } = await createFlow(t, {
      steps: [
        { id: 'call', type: 'http', method: 'POST', url: `${rx.url}/flaky`, body: { a: 1 }, retry: fast },
      ],
    });
    const accepted = await fire(hook, {});
    const ex = await finished(t, accepted.body.executionId);
    expect(ex.status).toBe('succeeded');
    const attempts = ex.steps[0].attempts;
    expect(attempts.map((a: any) => a.response.status)).toEqual([503, 503, 200]);
    expect(attempts.map((a: any) => a.n)).toEqual([1, 2, 3]);
    expect(attempts[0].error).toBe('HTTP 503');
    expect(attempts[2].error).toBeUndefined();
    expect(rx.at('/flaky')).toHaveLength(3);
  });

  it('fails at once on a 400: one attempt, execution failed', async () => {
    rx.script('/bad', [{ status: 400, body: { error: 'nope' } }]);
    const { hook } = await createFlow(t, {
      steps: [
        { id: 'call', type: 'http', method: 'POST', url: `${rx.url}/bad`, retry: fast },
        { id: 'never', type: 'http', method: 'POST', url: `${rx.url}/never` },
      ],
    });
    const ex = await finished(t, (await fire(hook, {})).body.executionId);
    expect(ex.status).toBe('failed');
    expect(ex.error).toMatch(/call.*HTTP 400/);
    expect(ex.steps[0]).toMatchObject({ status: 'failed', error: 'HTTP 400' });
    expect(ex.steps[0].attempts).toHaveLength(1);
    expect(ex.steps[1]).toMatchObject({ status: 'pending', attempts: [] });
    expect(rx.at('/never')).toHaveLength(0);
  });

  it('gives up after the last attempt, and continueOnError lets the flow go on', async () => {
    rx.script('/down', [{ status: 500 }]);
    const { hook } = await createFlow(t, {
      steps: [
        {
          id: 'call',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/down`,
          retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } },
          continueOnError: true,
        },
        { id: 'next', type: 'http', method: 'POST', url: `${rx.url}/next-after-error` },
      ],
    });
    const ex = await finished(t, (await fire(hook, {})).body.executionId);
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0].status).toBe('failed');
    expect(ex.steps[0].attempts).toHaveLength(2);
    expect(ex.steps[1].status).toBe('succeeded');
    expect(rx.at('/next-after-error')).toHaveLength(1);
  });

  it('skips a step whose if is falsy, with one recorded attempt', async () => {
    const { hook } = await createFlow(t, {
      steps: [
        { id: 'maybe', type: 'http', if: 'event.body.send', method: 'POST', url: `${rx.url}/maybe` },
        { id: 'last', type: 'transform', expression: '"done"' },
      ],
    });
    const ex = await finished(t, (await fire(hook, { send: false })).body.executionId);
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0]).toMatchObject({ status: 'skipped' });
    expect(ex.steps[0].attempts).toHaveLength(1);
    expect(rx.at('/maybe')).toHaveLength(0);
  });

  it('fails a step whose expression errors at run time, with the message', async () => {
    const { hook } = await createFlow(t, {
      steps: [{ id: 'boom', type: 'transform', expression: '$number("x")' }],
    });
    const ex = await finished(t, (await fire(hook, {})).body.executionId);
    expect(ex.status).toBe('failed');
    expect(ex.steps[0].error).toMatch(/Unable to cast|number/i);
  });

  it('records a filtered execution that runs no step when the filter is false', async () => {
    const { hook, id } = await createFlow(t, {
      filter: "event.body.ref = 'refs/heads/main'",
      steps: [{ id: 'x', type: 'http', method: 'POST', url: `${rx.url}/filtered` }],
    });
    const res = await fire(hook, { ref: 'refs/heads/dev' });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('filtered');
    const ex = (await t.api('GET', `/api/v1/executions/${res.body.executionId}`)).body;
    expect(ex.status).toBe('filtered');
    expect(ex.steps[0]).toMatchObject({ status: 'pending', attempts: [] });
    const list = await t.api('GET', `/api/v1/executions?flowId=${id}&status=filtered`);
    expect(list.body.items.map((e: any) => e.id)).toEqual([res.body.executionId]);
    // No job for the filtered one: an event that passes, fired after it, has run to the end and
    // made the only delivery (a job queued for the first would have run before it).
    expect((await runToEnd(t, hook, { ref: 'refs/heads/main' })).status).toBe('succeeded');
    expect(rx.at('/filtered')).toHaveLength(1);
  });

  it('keeps an event whose filter fails to evaluate as a failed execution that runs nothing', async () => {
    const { hook } = await createFlow(t, {
      filter: '$number(event.body.x) > 1',
      steps: [{ id: 'x', type: 'http', method: 'POST', url: `${rx.url}/filter-broken` }],
    });
    const res = await fire(hook, { x: 'not a number' });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('failed');
    const ex = (await t.api('GET', `/api/v1/executions/${res.body.executionId}`)).body;
    expect(ex.status).toBe('failed');
    expect(ex.error).toMatch(/^filter failed: /);
    expect(ex.finishedAt).toBeDefined();
    expect(rx.at('/filter-broken')).toHaveLength(0);
    // The same flow routes a good event normally; once it has run to the end, its delivery is the
    // only one (a job queued for the failed event would have run before it).
    const good = await fire(hook, { x: '5' });
    expect(good.body.status).toBe('queued');
    expect((await finished(t, good.body.executionId)).status).toBe('succeeded');
    expect(rx.at('/filter-broken')).toHaveLength(1);
  });

  it('answers 404, 405, 400 and 413 at the trigger URL', async () => {
    const { hook, id } = await createFlow(t, {
      trigger: { type: 'webhook', methods: ['POST', 'PUT'], maxBody: '1kb' },
      steps: [],
    });
    expect((await fire(`${t.url}/hooks/unknown-token`, {})).status).toBe(404);
    const get = await fetch(hook);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, PUT');
    expect((await fire(hook, {}, {}, 'PUT')).status).toBe(202);
    const malformed = await fire(hook, '{"a":', {});
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    const big = await fire(hook, { pad: 'x'.repeat(2000) });
    expect(big.status).toBe(413);
    await t.api('PATCH', `/api/v1/flows/${id}`, { enabled: false });
    expect((await fire(hook, {})).status).toBe(404);
    await t.api('PATCH', `/api/v1/flows/${id}`, { enabled: true });
    expect((await fire(hook, {})).status).toBe(202);
    await t.api('DELETE', `/api/v1/flows/${id}`);
    expect((await fire(hook, {})).status).toBe(404);
  });

  it('parses form, text and binary bodies', async () => {
    const { hook } = await createFlow(t, { trigger: { type: 'webhook' }, steps: [] });
    const post = async (body: string | Buffer, type: string): Promise<any> => {
      const res = await fetch(`${hook}?x=1`, { method: 'POST', headers: { 'content-type': type }, body });
      expect(res.status).toBe(202);
      const { executionId } = (await res.json()) as { executionId: string };
      return (await t.api('GET', `/api/v1/executions/${executionId}`)).body.event;
    };
    expect((await post('a=1&b=two&a=3', 'application/x-www-form-urlencoded')).body).toEqual({
      a: ['1', '3'],
      b: 'two',
    });
    expect((await post('<x>1</x>', 'application/xml')).body).toBe('<x>1</x>');
    expect((await post('hello', 'text/plain')).body).toBe('hello');
    const bin = await post(Buffer.from([0, 1, 2, 255]), 'application/octet-stream');
    expect(bin.body).toBe(Buffer.from([0, 1, 2, 255]).toString('base64'));
    expect(bin.query).toEqual({ x: '1' });
    expect((await post('{"a":{"b":1}}', 'application/vnd.api+json')).body).toEqual({ a: { b: 1 } });
  });

  it('a PUT during a run does not change that run', async () => {
    rx.script('/slow', [{ status: 200, delayMs: 800, body: { slow: true } }]);
    const { hook, id, flow } = await createFlow(t, {
      steps: [
        { id: 'first', type: 'http', method: 'POST', url: `${rx.url}/slow` },
        { id: 'second', type: 'http', method: 'POST', url: `${rx.url}/v1-target`, body: { version: 1 } },
      ],
    });
    const { executionId } = (await fire(hook, {})).body;
    await waitFor(() => rx.at('/slow').length > 0, 5000);
    const put = await t.api('PUT', `/api/v1/flows/${id}`, {
      name: flow.name,
      trigger: { type: 'webhook' },
      steps: [
        { id: 'first', type: 'http', method: 'POST', url: `${rx.url}/slow` },
        { id: 'second', type: 'http', method: 'POST', url: `${rx.url}/v2-target`, body: { version: 2 } },
      ],
    });
    expect(put.body.version).toBe(2);
    const ex = await finished(t, executionId);
    expect(ex.status).toBe('succeeded');
    expect(ex.flowVersion).toBe(1);
    expect(rx.at('/v1-target').map((r) => r.json)).toEqual([{ version: 1 }]);
    expect(rx.at('/v2-target')).toHaveLength(0);
  });
});
