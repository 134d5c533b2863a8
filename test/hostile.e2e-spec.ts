import fc from 'fast-check';
import http from 'node:http';
import { bootApp, TestApp, TEST_API_KEY } from './support/app';
import { Receiver } from './support/receiver';
import { waitFor } from './support/wait-for';

/** One seed for every property of this file, printed so that a failing run can be replayed. */
const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`hostile input: fast-check seed ${SEED} (replay with FC_SEED=${SEED})`);

/** Sends raw bytes (fetch cannot send invalid UTF-8 or arbitrary content types) and times the answer. */
function raw(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; ms: number; text: string }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ms: Date.now() - started,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/vnd.x+json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'application/xml',
  'application/octet-stream',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  ';;;',
  '',
  'x/y/z',
);

const nasty = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }).map((v) => Buffer.from(JSON.stringify(v))),
  fc.string({ maxLength: 2000, unit: 'binary' }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
  fc.constantFrom(
    Buffer.from('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'),
    Buffer.from(`${'['.repeat(10_000)}${']'.repeat(10_000)}`),
    Buffer.from(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`),
    Buffer.from([0xff, 0xfe, 0xfd, 0x80, 0x00]),
    Buffer.from('{"a": "\ud800"}'),
    Buffer.from('{"a": "\\ud800", "\\udc00": ["\\udbff"]}'),
    Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), // {"a":"<CESU-8 D800>"}
    Buffer.from('x'.repeat(900_000)),
  ),
);

/** `\uXXXX` for a code unit in the surrogate range: alone it is not valid Unicode. */
const surrogateEscape = fc
  .integer({ min: 0xd800, max: 0xdfff })
  .map((u) => `\\u${u.toString(16).padStart(4, '0')}`);

/** JSON text holding at least one lone surrogate escape, in a value, a key or an array item. */
const loneSurrogateJson = fc
  .tuple(surrogateEscape, fc.constantFrom('value', 'key', 'item', 'id'), fc.string({ maxLength: 20 }))
  .map(([esc, where, text]) => {
    const t = JSON.stringify(text).slice(1, -1);
    if (where === 'value') return `{"v":"${t}${esc}"}`;
    if (where === 'key') return `{"${esc}${t}":1}`;
    if (where === 'item') return `{"a":[1,{"b":["${esc}"]}]}`;
    return `{"id":"${esc}","v":"${t}"}`;
  })
  // A high surrogate followed by a low one is a pair, which is fine: keep only the lone ones.
  .filter((text) => !/\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F]/.test(text));

/** A token with bytes %00..%2F somewhere (NUL, space, slash, quote, ...), percent-encoded. */
const oddToken = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 0x2f }), fc.constantFrom(0x41, 0x5f, 0x2d, 0x7a)), {
    minLength: 1,
    maxLength: 40,
  })
  .filter((bytes) => bytes.some((b) => b <= 0x2f))
  .map((bytes) => bytes.map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join(''));

const expressions = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    '$sum([1..100000000])',
    '($f := function($n) { $f($n + 1) }; $f(0))',
    '($f := function($n) { $n > 0 ? $f($n - 1) + $f($n - 1) : 1 }; $f(40))',
    '$string($)',
    'event.body.__proto__',
    '$eval("1+1")',
    '{ "__proto__": { "polluted": true } }',
  ),
);

const flowBodies = fc.oneof(
  fc.anything({ maxDepth: 4 }),
  fc.record(
    {
      name: fc.oneof(fc.string({ maxLength: 300, unit: 'binary' }), fc.integer(), fc.constant(null)),
      trigger: fc.oneof(
        fc.anything({ maxDepth: 2 }),
        fc.record(
          { type: fc.constantFrom('webhook', 'schedule', 'event', 'x'), cron: fc.string() },
          { requiredKeys: ['type'] },
        ),
      ),
      filter: expressions,
      steps: fc.array(
        fc.record(
          {
            id: fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/), fc.string({ maxLength: 10 })),
            type: fc.constantFrom('transform', 'http', 'slack', 'delay', 'emit', 'nope'),
            expression: expressions,
            url: fc.string({ maxLength: 50 }),
            method: fc.constantFrom('POST', 'GET', 'BREW'),
            body: fc.anything({ maxDepth: 3 }),
            __proto__: fc.anything({ maxDepth: 1 }),
          },
          { requiredKeys: ['type'] },
        ),
        { maxLength: 5 },
      ),
    },
    { requiredKeys: [] },
  ),
);

describe('hostile input', () => {
  let t: TestApp;
  let rx: Receiver;
  let hook: string;
  let execHook: string;

  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await bootApp();
    const plain = await t.api('POST', '/api/v1/flows', {
      name: 'hostile',
      trigger: { type: 'webhook', methods: ['POST', 'PUT'] },
      steps: [],
    });
    hook = `${t.url}/hooks/${plain.body.trigger.token}`;
    // A flow whose expressions read whatever arrives.
    const busy = await t.api('POST', '/api/v1/flows', {
      name: 'hostile-exec',
      trigger: { type: 'webhook', idempotencyKey: 'event.body.id' },
      filter: 'event.body.skip != true',
      steps: [
        {
          id: 'shape',
          type: 'transform',
          expression: '{ "keys": $keys(event.body), "s": $string(event.body) }',
        },
        { id: 'deep', type: 'transform', expression: '$count(steps.shape.keys)' },
      ],
    });
    execHook = `${t.url}/hooks/${busy.body.trigger.token}`;
  });
  afterAll(async () => {
    await t.close();
    await rx.stop();
  });

  const ok = (status: number): boolean => status >= 200 && status < 500;

  it('answers every generated webhook with 2xx or 4xx within 5 s', async () => {
    await fc.assert(
      fc.asyncProperty(
        nasty,
        contentTypes,
        fc.constantFrom('POST', 'PUT', 'GET', 'DELETE'),
        fc.boolean(),
        async (body, type, method, busy) => {
          const res = await raw(
            busy ? execHook : hook,
            method,
            type ? { 'content-type': type } : {},
            method === 'GET' ? undefined : body,
          );
          expect(ok(res.status)).toBe(true);
          expect(res.ms).toBeLessThan(5000);
        },
      ),
      { seed: SEED, numRuns: 900, interruptAfterTimeLimit: 240_000 },
    );
  });

  it('answers a body with a lone surrogate 400 naming where it is, and its well-formed twin 202', async () => {
    await fc.assert(
      fc.asyncProperty(loneSurrogateJson, fc.boolean(), async (text, busy) => {
        const res = await raw(
          busy ? execHook : hook,
          'POST',
          { 'content-type': 'application/json' },
          Buffer.from(text),
        );
        expect([text, res.status]).toEqual([text, 400]);
        expect(JSON.parse(res.text).message).toMatch(/lone UTF-16 surrogate/);
        const pair = text.replace(
          /\\u[dD][89abAB][0-9a-fA-F]{2}|\\u[dD][c-fC-F][0-9a-fA-F]{2}/g,
          '\\ud83d\\ude00',
        );
        const good = await raw(
          busy ? execHook : hook,
          'POST',
          { 'content-type': 'application/json' },
          Buffer.from(pair),
        );
        expect([pair, good.status]).toEqual([pair, busy ? good.status : 202]);
        expect(ok(good.status)).toBe(true);
      }),
      { seed: SEED, numRuns: 200, interruptAfterTimeLimit: 60_000 },
    );
  });

  it('answers 404 for tokens holding bytes %00..%2F (NUL included), never 500', async () => {
    await fc.assert(
      fc.asyncProperty(oddToken, fc.constantFrom('POST', 'GET', 'PUT'), async (token, method) => {
        const res = await raw(`${t.url}/hooks/${token}`, method, {}, undefined);
        expect([token, res.status]).toEqual([token, 404]);
      }),
      { seed: SEED, numRuns: 200, interruptAfterTimeLimit: 60_000 },
    );
  });

  it('fails a step whose header template renders CR, LF or a non-Latin-1 character clearly, never as an internal error', async () => {
    const created = await t.api('POST', '/api/v1/flows', {
      name: 'hostile-headers',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'out',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/hostile-headers`,
          headers: { 'x-v': 'a{{ event.body.v }}b' },
          retry: { attempts: 1 },
        },
      ],
    });
    expect(created.status).toBe(201);
    const target = `${t.url}/hooks/${created.body.trigger.token}`;
    const headerish = fc.string({
      maxLength: 12,
      unit: fc.constantFrom('a', ' ', '\r', '\n', '\t', ':', 'é', '😀', '\u0000'),
    });
    await fc.assert(
      fc.asyncProperty(headerish, async (v) => {
        const res = await raw(
          target,
          'POST',
          { 'content-type': 'application/json' },
          Buffer.from(JSON.stringify({ v })),
        );
        expect(res.status).toBe(202);
        const { executionId } = JSON.parse(res.text) as { executionId: string };
        const ex = await waitFor(async () => {
          const got = (await t.api('GET', `/api/v1/executions/${executionId}`)).body;
          return ['succeeded', 'failed'].includes(got.status) ? got : null;
        }, 10_000);
        const error = String(ex.steps[0].error ?? '');
        expect([v, error]).not.toEqual([v, expect.stringMatching(/internal error/)]);
        if (/[\r\n]/.test(v)) expect(error).toBe('header x-v contains CR or LF');
        if (ex.status === 'failed') expect(error).toMatch(/^header /);
      }),
      { seed: SEED, numRuns: 40, interruptAfterTimeLimit: 60_000 },
    );
  });

  it('answers every generated flow definition with 2xx or 4xx within 5 s', async () => {
    await fc.assert(
      fc.asyncProperty(flowBodies, async (body) => {
        const res = await raw(
          `${t.url}/api/v1/flows`,
          'POST',
          { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
          Buffer.from(JSON.stringify(body) ?? 'null'),
        );
        expect(ok(res.status)).toBe(true);
        expect(res.ms).toBeLessThan(5000);
      }),
      { seed: SEED, numRuns: 400, interruptAfterTimeLimit: 120_000 },
    );
  });

  it('answers hostile query strings and headers on the API with 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 100 }),
        fc.string({ maxLength: 100 }),
        async (limit, cursor) => {
          const qs = new URLSearchParams({ limit, cursor }).toString();
          const res = await raw(`${t.url}/api/v1/executions?${qs}`, 'GET', {
            authorization: `Bearer ${TEST_API_KEY}`,
          });
          expect(ok(res.status)).toBe(true);
          const bad = await raw(`${t.url}/api/v1/flows`, 'GET', {
            authorization: `Bearer ${limit.replace(/[^\x20-\x7e]/g, '')}`,
          });
          expect([401, 200]).toContain(bad.status);
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('fails a step whose expression never ends or recurses, and keeps serving', async () => {
    const runaway = [
      '$sum([1..100000000])',
      '($f := function($n) { $f($n + 1) }; $f(0))',
      '($f := function($n) { $n > 0 ? $f($n - 1) + $f($n - 1) : 1 }; $f(40))',
      '($f := function($n) { $n > 0 ? 1 + $f($n - 1) : 0 }; $f(100000))',
    ];
    for (const expression of runaway) {
      const created = await t.api('POST', '/api/v1/flows', {
        name: 'runaway',
        trigger: { type: 'webhook' },
        steps: [{ id: 'spin', type: 'transform', expression }],
      });
      expect(created.status).toBe(201);
      const started = Date.now();
      const res = await raw(
        `${t.url}/hooks/${created.body.trigger.token}`,
        'POST',
        { 'content-type': 'application/json' },
        Buffer.from('{}'),
      );
      expect(res.status).toBe(202);
      const { executionId } = JSON.parse(res.text) as { executionId: string };
      const ex = await waitFor(async () => {
        const now = (await t.api('GET', `/api/v1/executions/${executionId}`)).body;
        return now.status === 'failed' ? now : null;
      }, 10_000);
      expect(ex.status).toBe('failed');
      expect(ex.steps[0].error).toBeTruthy();
      expect(Date.now() - started).toBeLessThan(8000);
      expect((await raw(`${t.url}/health`, 'GET', {})).status).toBe(200);
    }
  });

  it('pollutes no prototype and stays healthy', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    const health = await raw(`${t.url}/health`, 'GET', {});
    expect(health.status).toBe(200);
  });
});
