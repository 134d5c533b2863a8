import { bootApp, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { createFlow, runToEnd } from './support/flow-runs';
import { waitFor } from './support/wait-for';

describe('control flow: branch and onError', () => {
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

  const post = (id: string, path: string, extra: Record<string, unknown> = {}) => ({
    id,
    type: 'http',
    method: 'POST',
    url: `${rx.url}${path}`,
    body: { type: '{{ event.body.type }}', n: '{{ event.body.n }}' },
    ...extra,
  });

  it('first mode runs the first matching case, else default; the output names the cases', async () => {
    const { hook } = await createFlow(t, {
      steps: [
        {
          id: 'route',
          type: 'branch',
          cases: [
            { id: 'paid', when: "event.body.type = 'paid'", steps: [post('fulfil', '/fulfil')] },
            { id: 'refunded', when: "event.body.type = 'refunded'", steps: [post('notify', '/notify')] },
            { when: "event.body.type = 'paid'", steps: [post('never', '/never')] },
          ],
          default: [{ id: 'log', type: 'transform', expression: "'other: ' & event.body.type" }],
        },
        {
          id: 'after',
          type: 'transform',
          expression: '{"route": steps.route, "fulfil": steps.fulfil.status}',
        },
      ],
    });
    const paid = await runToEnd(t, hook, { type: 'paid', n: 1 });
    expect(paid.status).toBe('succeeded');
    expect(paid.steps[0]).toMatchObject({ id: 'route', status: 'succeeded', output: { matched: ['paid'] } });
    expect(paid.steps[0].steps.map((s: any) => [s.id, s.status])).toEqual([['fulfil', 'succeeded']]);
    expect(paid.steps[1].output).toEqual({ route: { matched: ['paid'] }, fulfil: 200 });

    const refunded = await runToEnd(t, hook, { type: 'refunded', n: 2 });
    expect(refunded.steps[0].output).toEqual({ matched: ['refunded'] });
    expect(refunded.steps[1].output).toEqual({ route: { matched: ['refunded'] } });

    const other = await runToEnd(t, hook, { type: 'disputed', n: 3 });
    expect(other.steps[0].output).toEqual({ matched: [] });
    expect(other.steps[0].steps).toEqual([
      expect.objectContaining({ id: 'log', status: 'succeeded', output: 'other: disputed' }),
    ]);
    expect(rx.at('/fulfil').map((r) => (r.json as any).n)).toEqual([1]);
    expect(rx.at('/notify').map((r) => (r.json as any).n)).toEqual([2]);
    expect(rx.at('/never')).toHaveLength(0);
  });

  it('all mode runs every matching case in order, each outbound step in its own job; nested branches see outer outputs', async () => {
    const { hook } = await createFlow(t, {
      steps: [
        {
          id: 'fan',
          type: 'branch',
          mode: 'all',
          cases: [
            { when: 'event.body.n > 0', steps: [post('a1', '/all-a'), post('a2', '/all-a')] },
            { when: 'event.body.n > 100', steps: [post('b1', '/all-b')] },
            {
              id: 'inner',
              when: 'event.body.n > 1',
              steps: [
                {
                  id: 'nested',
                  type: 'branch',
                  cases: [{ when: 'steps.a1.status = 200', steps: [post('c1', '/all-c')] }],
                },
              ],
            },
          ],
        },
      ],
    });
    const ex = await runToEnd(t, hook, { n: 5 });
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0].output).toEqual({ matched: [0, 'inner'] });
    expect(ex.steps[0].steps.map((s: any) => s.id)).toEqual(['a1', 'a2', 'nested']);
    expect(ex.steps[0].steps[2].steps.map((s: any) => [s.id, s.status])).toEqual([['c1', 'succeeded']]);
    expect(rx.at('/all-a')).toHaveLength(2);
    expect(rx.at('/all-b')).toHaveLength(0);
    expect(rx.at('/all-c')).toHaveLength(1);
  });

  it('a failed step inside a case fails the execution; retry re-sends only what failed', async () => {
    rx.script('/case-flaky', [{ status: 500 }, { status: 200, body: { ok: true } }]);
    const { hook } = await createFlow(t, {
      steps: [
        {
          id: 'br',
          type: 'branch',
          cases: [
            {
              when: 'true',
              steps: [post('first', '/case-ok'), post('second', '/case-flaky', { retry: { attempts: 1 } })],
            },
          ],
        },
      ],
    });
    const failed = await runToEnd(t, hook, { n: 7 });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^step second failed: HTTP 500/);
    expect(failed.steps[0].status).toBe('failed');
    const retried = await t.api('POST', `/api/v1/executions/${failed.id}/retry`);
    expect(retried.status).toBe(202);
    const done = await waitFor(async () => {
      const ex = (await t.api('GET', `/api/v1/executions/${failed.id}`)).body;
      return ex.status === 'succeeded' ? ex : null;
    }, 15_000);
    expect(done.steps[0].steps.map((s: any) => [s.id, s.status, s.attempts.length])).toEqual([
      ['first', 'succeeded', 1],
      ['second', 'succeeded', 2],
    ]);
    expect(rx.at('/case-ok')).toHaveLength(1);
    expect(rx.at('/case-flaky')).toHaveLength(2);
  });

  it('onError runs once with the error; the execution still fails with its own error', async () => {
    rx.script('/broken', [{ status: 400, body: { nope: true } }]);
    const { hook } = await createFlow(t, {
      steps: [post('call', '/broken'), post('unreached', '/unreached')],
      onError: {
        steps: [
          {
            id: 'alert',
            type: 'http',
            method: 'POST',
            url: `${rx.url}/alert`,
            body: { step: '{{ error.stepId }}', message: '{{ error.message }}', n: '{{ event.body.n }}' },
          },
          { id: 'summary', type: 'transform', expression: "'alerted about ' & error.stepId" },
        ],
      },
    });
    const ex = await runToEnd(t, hook, { n: 11 });
    expect(ex.status).toBe('failed');
    expect(ex.error).toMatch(/^step call failed: HTTP 400/);
    expect(ex.onError.map((s: any) => [s.id, s.status])).toEqual([
      ['alert', 'succeeded'],
      ['summary', 'succeeded'],
    ]);
    expect(ex.onError[1].output).toBe('alerted about call');
    expect(rx.at('/alert').map((r) => r.json)).toEqual([
      { step: 'call', message: expect.stringMatching(/^HTTP 400/), n: 11 },
    ]);
    expect(rx.at('/unreached')).toHaveLength(0);
  });

  it('a failing onError is recorded and does not run onError again', async () => {
    rx.script('/broken-2', [{ status: 400 }]);
    rx.script('/alert-broken', [{ status: 400 }]);
    const { hook } = await createFlow(t, {
      steps: [post('call2', '/broken-2')],
      onError: { steps: [post('alert2', '/alert-broken'), post('after_alert', '/after-alert')] },
    });
    const ex = await runToEnd(t, hook, { n: 12 });
    expect(ex.status).toBe('failed');
    expect(ex.error).toMatch(/^step call2 failed/);
    expect(ex.onError.map((s: any) => [s.id, s.status])).toEqual([
      ['alert2', 'failed'],
      ['after_alert', 'pending'],
    ]);
    expect(rx.at('/alert-broken')).toHaveLength(1);
    expect(rx.at('/after-alert')).toHaveLength(0);
  });

  it('rejects bad nested steps with their field paths, duplicate ids across levels, and nesting deeper than 4', async () => {
    const nest = (depth: number): Record<string, unknown> =>
      depth === 0
        ? { id: 'leaf', type: 'transform', expression: '1' }
        : { id: `b${depth}`, type: 'branch', cases: [{ when: 'true', steps: [nest(depth - 1)] }] };
    const bad = await t.api('POST', '/api/v1/flows', {
      name: 'bad',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'x', type: 'transform', expression: '1' },
        {
          id: 'br',
          type: 'branch',
          cases: [
            {
              when: 'true',
              steps: [
                { id: 'x', type: 'transform', expression: '2' },
                { id: 'h', type: 'http', method: 'POST' },
              ],
            },
          ],
          default: [{ id: 'd', type: 'transform', expression: '(' }],
        },
      ],
      onError: { steps: [{ id: 'e', type: 'nope' }] },
    });
    expect(bad.status).toBe(400);
    const messages: string[] = bad.body.message;
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining('steps[1].cases[0].steps[0].id "x" is used by another step'),
        expect.stringMatching(/^steps\[1\]\.cases\[0\]\.steps\[1\]\.url /),
        expect.stringMatching(/^onError\.steps\[0\]\.type must be one of/),
      ]),
    );
    // Expressions compile once the shapes are right: a syntax error names the nested field too.
    const syntax = await t.api('POST', '/api/v1/flows', {
      name: 'syntax',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'br',
          type: 'branch',
          cases: [{ when: 'event.(', steps: [] }],
          default: [{ id: 'd', type: 'transform', expression: '(' }],
        },
      ],
    });
    expect(syntax.status).toBe(400);
    expect(syntax.body.message).toEqual([
      expect.stringMatching(/^steps\[0\]\.cases\[0\]\.when: /),
      expect.stringMatching(/^steps\[0\]\.default\[0\]\.expression/),
    ]);
    const deep = await t.api('POST', '/api/v1/flows', {
      name: 'deep',
      trigger: { type: 'webhook' },
      steps: [nest(5)],
    });
    expect(deep.status).toBe(400);
    expect(deep.body.message).toEqual([
      expect.stringMatching(/^steps\[0\](\.cases\[0\]\.steps\[0\]){4}: branches nest at most 4/),
    ]);
    const ok = await t.api('POST', '/api/v1/flows', {
      name: 'deep4',
      trigger: { type: 'webhook' },
      steps: [nest(4)],
    });
    expect(ok.status).toBe(201);
  });

  it('POST /flows/test dry-runs an unsaved definition: matched cases with their steps previews; nothing stored', async () => {
    const before = (await t.api('GET', '/api/v1/flows?limit=200')).body.items.length;
    const definition = {
      name: 'scratch',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'route',
          type: 'branch',
          mode: 'all',
          cases: [
            { id: 'big', when: 'event.body.n > 10', steps: [post('send_big', '/dry-big')] },
            {
              id: 'even',
              when: 'event.body.n % 2 = 0',
              steps: [{ id: 'half', type: 'transform', expression: 'event.body.n / 2' }],
            },
          ],
        },
        { id: 'after', type: 'transform', expression: 'steps.route.matched' },
      ],
    };
    const res = await t.api('POST', '/api/v1/flows/test', {
      definition,
      event: { body: { n: 12, type: 'x' } },
    });
    expect(res.status).toBe(200);
    expect(res.body.filter).toEqual({ matched: true });
    expect(res.body.steps[0]).toMatchObject({
      id: 'route',
      status: 'would_run',
      output: { matched: ['big', 'even'] },
    });
    expect(res.body.steps[0].steps).toEqual([
      expect.objectContaining({
        id: 'send_big',
        status: 'would_run',
        request: expect.objectContaining({ method: 'POST', url: `${rx.url}/dry-big` }),
      }),
      expect.objectContaining({ id: 'half', status: 'would_run', output: 6 }),
    ]);
    expect(res.body.steps[1]).toMatchObject({ id: 'after', output: ['big', 'even'] });
    expect(rx.at('/dry-big')).toHaveLength(0);

    const bad = await t.api('POST', '/api/v1/flows/test', {
      definition: {
        ...definition,
        steps: [
          {
            id: 'b',
            type: 'branch',
            cases: [{ when: 'true', steps: [{ id: 'h', type: 'http', method: 'POST' }] }],
          },
        ],
      },
      event: {},
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual(
      expect.arrayContaining([expect.stringMatching(/^steps\[0\]\.cases\[0\]\.steps\[0\]\.url /)]),
    );
    const unknown = await t.api('POST', '/api/v1/flows/test', {
      definition: { ...definition, extra: 1 },
      event: {},
    });
    expect(unknown.status).toBe(400);
    expect((await t.api('GET', '/api/v1/flows?limit=200')).body.items.length).toBe(before);
  });
});
