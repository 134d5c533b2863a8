import http from 'node:http';
import { bootApp, fire, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { createFlow, finished } from './support/flow-runs';
import { waitFor } from './support/wait-for';

/** Raw text bodies (a lone surrogate escape survives only as JSON text, not through JSON.stringify). */
function post(
  url: string,
  text: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: text,
  }).then(async (res) => {
    const t = await res.text();
    let body: unknown = t;
    try {
      body = t ? JSON.parse(t) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body };
  });
}

/** A request line fetch would normalise (`%00`, `%2F`, `..`): sent as given. */
function rawPath(base: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    req.path = path;
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end('{}');
  });
}

describe('isolation at intake: input that cannot be stored or routed', () => {
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

  async function executions(flowId: string): Promise<any[]> {
    const res = await t.api('GET', `/api/v1/executions?flowId=${flowId}&limit=200`);
    expect(res.status).toBe(200);
    return res.body.items as any[];
  }

  const POISON = [
    '{"x":"\\ud800"}',
    '{"\\udc00":1}',
    '{"id":"\\ud83d","x":1}',
    '{"a":[{"b":"x\\uDFFF"}],"id":"n"}',
    '{"id":"ok","deep":{"k\\ud83dz":"v"}}',
  ];

  it('answers poison bodies 400 and stores nothing, while another flow gets 100 % 202, each delivered once', async () => {
    const good = await createFlow(t, {
      steps: [
        {
          id: 'out',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/good`,
          body: { n: '{{ event.body.n }}', ex: '{{ execution.id }}' },
          retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 50 } },
        },
      ],
    });
    const poison = await createFlow(t, {
      trigger: { type: 'webhook', idempotencyKey: 'event.body.id' },
      steps: [{ id: 'out', type: 'http', method: 'POST', url: `${rx.url}/poison` }],
    });
    const GOOD = 150;
    const BAD = 150;
    const goodAnswers: Array<Promise<{ status: number; body: any }>> = [];
    const badAnswers: Array<Promise<{ status: number; body: any }>> = [];
    // Interleaved in waves, so that poison and healthy inserts meet in the same batches.
    for (let wave = 0; wave < 5; wave++) {
      const wavePromises: Array<Promise<unknown>> = [];
      for (let i = 0; i < GOOD / 5; i++) {
        const n = wave * (GOOD / 5) + i;
        const g = post(good.hook, JSON.stringify({ n }));
        const b = post(poison.hook, POISON[n % POISON.length]);
        goodAnswers.push(g);
        badAnswers.push(b);
        wavePromises.push(g, b);
      }
      await Promise.all(wavePromises);
    }
    const goods = await Promise.all(goodAnswers);
    const bads = await Promise.all(badAnswers);
    expect(goods.filter((r) => r.status !== 202).map((r) => [r.status, r.body])).toEqual([]);
    expect(bads.length).toBe(BAD);
    for (const b of bads) {
      expect(b.status).toBe(400);
      expect(b.body.message).toMatch(/^(body\S* |key .* at body\S* )holds a lone UTF-16 surrogate/);
    }
    const ids = goods.map((r) => r.body.executionId as string);
    expect(new Set(ids).size).toBe(GOOD);
    await waitFor(() => rx.at('/good').length >= GOOD, 30_000);
    for (const id of ids) expect((await finished(t, id)).status).toBe('succeeded');
    const seen = new Map<string, number>();
    for (const r of rx.at('/good')) {
      const ex = (r.json as { ex: string }).ex;
      seen.set(ex, (seen.get(ex) ?? 0) + 1);
    }
    expect([...seen.values()].filter((c) => c !== 1)).toEqual([]);
    expect(new Set(seen.keys())).toEqual(new Set(ids));
    expect(rx.at('/poison')).toHaveLength(0);
    expect(await executions(poison.id)).toEqual([]);
    // The poison flow still takes a good event (nothing about it was broken or remembered).
    const fine = await post(poison.hook, '{"id":"fine","x":"\\ud83d\\ude00"}');
    expect(fine.status).toBe(202);
    const stored = await finished(t, fine.body.executionId);
    expect(stored.event.body.x).toBe('😀');
  });

  it('refuses a lone surrogate in every management body with a 400 naming the field', async () => {
    const { id } = await createFlow(t, { steps: [] });
    const cases: Array<[string, string, string, RegExp]> = [
      ['POST', '/api/v1/flows', '{"name":"a\\ud800","trigger":{"type":"webhook"},"steps":[]}', /^name /],
      [
        'POST',
        '/api/v1/flows',
        '{"name":"a","trigger":{"type":"webhook"},"steps":[{"id":"t","type":"transform","expression":"\\"\\udfff\\""}]}',
        /^steps\[0\]\.expression /,
      ],
      ['POST', `/api/v1/flows/${id}/run`, '{"payload":{"k":["\\ud800"]}}', /^payload\.k\[0\] /],
      [
        'POST',
        `/api/v1/flows/${id}/test`,
        '{"event":{"body":{"\\ud800":1}}}',
        /^key "\\ud800" at event\.body /,
      ],
      ['PUT', '/api/v1/secrets/ISO_X', '{"value":"\\ud800"}', /^value /],
      ['POST', '/api/v1/api-keys', '{"name":"k\\udc00"}', /^name /],
      ['POST', '/api/v1/events', '{"type":"iso.x","data":{"v":"\\ud800"}}', /^data\.v /],
    ];
    for (const [method, path, text, field] of cases) {
      const res = await fetch(`${t.url}${path}`, {
        method,
        headers: { authorization: 'Bearer test-bootstrap-key', 'content-type': 'application/json' },
        body: text,
      });
      const body = (await res.json()) as { message: string };
      expect([path, res.status]).toEqual([path, 400]);
      expect(body.message).toMatch(field);
      expect(body.message).toMatch(/lone UTF-16 surrogate/);
    }
    expect(await executions(id)).toEqual([]);
    expect((await t.api('GET', '/api/v1/secrets')).body.items ?? []).not.toContainEqual(
      expect.objectContaining({ name: 'ISO_X' }),
    );
  });

  it('answers 404 for trigger tokens holding any byte from %00 to %2F, never 500', async () => {
    const { hook } = await createFlow(t, { steps: [] });
    const token = hook.split('/hooks/')[1];
    const paths = ['/hooks/%00', `/hooks/${token}%00`, '/hooks/%00%00', '/hooks/a%25b', '/hooks/..%2F..%2Fx'];
    for (let b = 0; b <= 0x2f; b++) {
      const hex = b.toString(16).padStart(2, '0').toUpperCase();
      paths.push(`/hooks/x%${hex}y`, `/hooks/${token.slice(0, 10)}%${hex}`);
    }
    const answers = await Promise.all(paths.map(async (p) => [p, await rawPath(t.url, p)] as const));
    expect(answers.filter(([, s]) => s !== 404)).toEqual([]);
    // Bytes that are not UTF-8 cannot even be decoded into a token: the framework answers 400.
    expect(await rawPath(t.url, '/hooks/%C0%AF')).toBe(400);
    expect(await rawPath(t.url, '/hooks/%FF')).toBe(400);
    expect((await fire(hook, {})).status).toBe(202);
  });

  it('refuses __proto__, constructor and prototype keys like any unknown field', async () => {
    const base =
      '"name":"p","trigger":{"type":"webhook"%T},"steps":[{"id":"a","type":"transform","expression":"1"%S}]';
    const body = (top: string, trigger = '', step = ''): string =>
      `{${base.replace('%T', trigger).replace('%S', step)}${top}}`;
    const cases: Array<[string, string]> = [
      [body(',"__proto__":{"x":1}'), 'property __proto__ should not exist'],
      [body(',"constructor":{"x":1}'), 'property constructor should not exist'],
      [body(',"prototype":1'), 'property prototype should not exist'],
      [body('', ',"__proto__":{"x":1}'), 'property trigger.__proto__ should not exist'],
      [body('', ',"constructor":1'), 'property trigger.constructor should not exist'],
      [body('', '', ',"__proto__":{}'), 'property steps[0].__proto__ should not exist'],
      [body('', '', ',"constructor":"x"'), 'property steps[0].constructor should not exist'],
      [body('', '', ',"prototype":"x"'), 'property steps[0].prototype should not exist'],
      [body('', '', ',"\\u005f_proto__":{}'), 'property steps[0].__proto__ should not exist'],
    ];
    for (const [text, message] of cases) {
      const res = await fetch(`${t.url}/api/v1/flows`, {
        method: 'POST',
        headers: { authorization: 'Bearer test-bootstrap-key', 'content-type': 'application/json' },
        body: text,
      });
      const answer = (await res.json()) as { message: string[] };
      expect([text, res.status]).toEqual([text, 400]);
      expect(answer.message).toContain(message);
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('suggests the nearest known field for an unknown one', async () => {
    const top = await t.api('POST', '/api/v1/flows', {
      name: 'hint',
      trigger: { type: 'webhook' },
      steps: [],
      filtr: 'true',
      zzzzzz: 1,
    });
    expect(top.status).toBe(400);
    expect(top.body.message).toEqual([
      'property filtr should not exist (did you mean filter?)',
      'property zzzzzz should not exist',
    ]);
    const nested = await t.api('POST', '/api/v1/flows', {
      name: 'hint',
      trigger: { type: 'webhook', method: ['POST'] },
      steps: [{ id: 'a', type: 'http', method: 'POST', url: `${rx.url}/x`, timeout: 5, heders: {} }],
    });
    expect(nested.status).toBe(400);
    expect(nested.body.message).toEqual(
      expect.arrayContaining([
        'property trigger.method should not exist (did you mean methods?)',
        'property steps[0].timeout should not exist (did you mean timeoutMs?)',
        'property steps[0].heders should not exist (did you mean headers?)',
      ]),
    );
  });

  it('fails a step whose rendered header holds CR or LF clearly, without retries, and the dry run says the same', async () => {
    const { id, hook } = await createFlow(t, {
      steps: [
        {
          id: 'out',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/crlf`,
          headers: { 'x-foo': '{{ event.body.v }}' },
          retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 10 } },
        },
      ],
    });
    const res = await fire(hook, { v: 'a\r\nx-injected: 1' });
    expect(res.status).toBe(202);
    const ex = await finished(t, res.body.executionId);
    expect(ex.status).toBe('failed');
    expect(ex.steps[0].error).toBe('header x-foo contains CR or LF');
    expect(ex.steps[0].attempts).toHaveLength(1);
    expect(ex.error).toBe('step out failed: header x-foo contains CR or LF');
    expect(rx.at('/crlf')).toHaveLength(0);
    const dry = await t.api('POST', `/api/v1/flows/${id}/test`, { event: { body: { v: 'a\nb' } } });
    expect(dry.body.steps[0]).toEqual({
      id: 'out',
      status: 'error',
      error: 'steps[0]: header x-foo contains CR or LF',
    });
  });

  describe('a filter or idempotency key that fails to evaluate', () => {
    it('stores a failed execution with the error, steps cancelled; the dry run shows the same error', async () => {
      const { id, hook } = await createFlow(t, {
        filter: '$nosuch(event.body)',
        steps: [
          { id: 'a', type: 'transform', expression: '1' },
          { id: 'b', type: 'http', method: 'POST', url: `${rx.url}/filter-error` },
        ],
      });
      const res = await fire(hook, { x: 1 });
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('failed');
      const ex = await finished(t, res.body.executionId);
      expect(ex.status).toBe('failed');
      expect(ex.error).toMatch(/^filter failed: /);
      expect(ex.steps.map((s: any) => [s.id, s.status, s.attempts.length])).toEqual([
        ['a', 'cancelled', 0],
        ['b', 'cancelled', 0],
      ]);
      const dry = await t.api('POST', `/api/v1/flows/${id}/test`, { event: { body: { x: 1 } } });
      expect(dry.status).toBe(200);
      expect(dry.body.filter).toEqual({ matched: false, error: ex.error });
      expect(dry.body.steps.map((s: any) => s.status)).toEqual(['skipped', 'skipped']);
      expect(dry.body.steps[0].reason).toMatch(/filter failed/);
      expect(rx.at('/filter-error')).toHaveLength(0);
    });

    it('treats a failing idempotency key the same way, in the run and in the dry run', async () => {
      const { id, hook } = await createFlow(t, {
        trigger: { type: 'webhook', idempotencyKey: '$nosuch(event.body.id)' },
        steps: [{ id: 'a', type: 'transform', expression: '1' }],
      });
      const res = await fire(hook, { id: 1 });
      expect(res.status).toBe(202);
      const ex = await finished(t, res.body.executionId);
      expect(ex.status).toBe('failed');
      expect(ex.error).toMatch(/^trigger\.idempotencyKey failed: /);
      expect(ex.steps[0].status).toBe('cancelled');
      const dry = await t.api('POST', `/api/v1/flows/${id}/test`, { event: { body: { id: 1 } } });
      expect(dry.body.filter).toEqual({ matched: false, error: ex.error });
      expect(dry.body.steps).toEqual([
        { id: 'a', status: 'skipped', reason: `the event would be stored as failed: ${ex.error}` },
      ]);
    });
  });
});
