import { bootApp, TestApp } from './support/app';

describe('flows REST', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const flow = (over: Record<string, unknown> = {}) => ({
    name: 'demo',
    trigger: { type: 'webhook' },
    steps: [
      { id: 'shape', type: 'transform', expression: '{"who": event.body.user}' },
      {
        id: 'send',
        type: 'http',
        method: 'POST',
        url: 'http://127.0.0.1:9/x',
        body: { who: '{{ steps.shape.who }}' },
      },
    ],
    ...over,
  });

  it('answers 401 without a valid key', async () => {
    expect((await t.api('GET', '/api/v1/flows', undefined, '')).status).toBe(401);
    const res = await t.api('GET', '/api/v1/flows', undefined, 'wrong');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
  });

  it('creates, reads, replaces, patches, versions and deletes a flow', async () => {
    const created = await t.api('POST', '/api/v1/flows', flow({ description: 'first' }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'demo', description: 'first', enabled: true, version: 1 });
    expect(created.body.trigger.token).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(Buffer.from(created.body.trigger.token, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(created.body.trigger.url).toBe(`http://localhost:3000/hooks/${created.body.trigger.token}`);
    const id = created.body.id;

    expect((await t.api('GET', `/api/v1/flows/${id}`)).body).toEqual(created.body);

    const replaced = await t.api('PUT', `/api/v1/flows/${id}`, flow({ name: 'demo2', filter: 'true' }));
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ name: 'demo2', version: 2, filter: 'true' });
    expect(replaced.body.description).toBeUndefined();
    expect(replaced.body.trigger.token).toBe(created.body.trigger.token);

    const patched = await t.api('PATCH', `/api/v1/flows/${id}`, { enabled: false });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ enabled: false, version: 2, name: 'demo2' });

    const versions = await t.api('GET', `/api/v1/flows/${id}/versions`);
    expect(versions.status).toBe(200);
    expect(versions.body.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions.body.items[1]).toMatchObject({ name: 'demo', description: 'first' });
    expect(versions.body.nextCursor).toBeNull();

    expect((await t.api('DELETE', `/api/v1/flows/${id}`)).status).toBe(204);
    expect((await t.api('GET', `/api/v1/flows/${id}`)).status).toBe(404);
    expect((await t.api('DELETE', `/api/v1/flows/${id}`)).status).toBe(404);
  });

  it('answers 404 for unknown and malformed ids', async () => {
    expect((await t.api('GET', '/api/v1/flows/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await t.api('GET', '/api/v1/flows/not-an-id')).status).toBe(404);
  });

  it('refuses unknown fields anywhere with 400 naming the path', async () => {
    const top = await t.api('POST', '/api/v1/flows', { ...flow(), colour: 'red' });
    expect(top.status).toBe(400);
    expect(top.body.message).toEqual(expect.arrayContaining([expect.stringContaining('colour')]));

    const inStep = await t.api(
      'POST',
      '/api/v1/flows',
      flow({ steps: [{ id: 'a', type: 'transform', expression: '1', extra: 1 }] }),
    );
    expect(inStep.status).toBe(400);
    expect(inStep.body.message).toEqual(['property steps[0].extra should not exist']);

    const inTrigger = await t.api(
      'POST',
      '/api/v1/flows',
      flow({ trigger: { type: 'webhook', secret: 'x' } }),
    );
    expect(inTrigger.status).toBe(400);
    expect(inTrigger.body.message).toEqual(['property trigger.secret should not exist']);

    const nested = await t.api(
      'POST',
      '/api/v1/flows',
      flow({ steps: [{ id: 'a', type: 'transform', expression: '1', retry: { attempts: 2, tries: 3 } }] }),
    );
    expect(nested.status).toBe(400);
    expect(nested.body.message).toEqual(['property steps[0].retry.tries should not exist']);
  });

  it('checks step ids, types and fields', async () => {
    const dup = await t.api(
      'POST',
      '/api/v1/flows',
      flow({
        steps: [
          { id: 'a', type: 'transform', expression: '1' },
          { id: 'a', type: 'transform', expression: '2' },
        ],
      }),
    );
    expect(dup.status).toBe(400);
    expect(dup.body.message).toEqual([expect.stringMatching(/^steps\[1\]\.id "a" is used by another step/)]);

    const badId = await t.api(
      'POST',
      '/api/v1/flows',
      flow({ steps: [{ id: '1bad', type: 'transform', expression: '1' }] }),
    );
    expect(badId.status).toBe(400);
    expect(badId.body.message[0]).toMatch(/^steps\[0\]\.id must match/);

    const badType = await t.api('POST', '/api/v1/flows', flow({ steps: [{ id: 'a', type: 'ftp' }] }));
    expect(badType.status).toBe(400);
    expect(badType.body.message[0]).toMatch(/^steps\[0\]\.type must be one of/);

    const badHttp = await t.api(
      'POST',
      '/api/v1/flows',
      flow({ steps: [{ id: 'a', type: 'http', method: 'FETCH', url: 'x', retry: { attempts: 99 } }] }),
    );
    expect(badHttp.status).toBe(400);
    expect(badHttp.body.message).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^steps\[0\]\.method must be one of/),
        expect.stringMatching(/^steps\[0\]\.retry\.attempts must not be greater than 25/),
      ]),
    );

    const badTrigger = await t.api('POST', '/api/v1/flows', flow({ trigger: { type: 'carrier-pigeon' } }));
    expect(badTrigger.status).toBe(400);
    expect(badTrigger.body.message[0]).toMatch(/^trigger\.type must be one of/);
  });

  it('compiles every expression at save and names the field and the position of a syntax error', async () => {
    const res = await t.api(
      'POST',
      '/api/v1/flows',
      flow({
        steps: [
          { id: 'a', type: 'transform', expression: '1' },
          {
            id: 'b',
            type: 'http',
            method: 'POST',
            url: 'http://127.0.0.1:9/',
            body: { x: 'hello {{ event.body.( }}' },
          },
        ],
      }),
    );
    expect(res.status).toBe(400);
    expect(res.body.message).toHaveLength(1);
    expect(res.body.message[0]).toMatch(/^steps\[1\]\.body\.x: .*\(at position \d+\)$/);

    const filter = await t.api('POST', '/api/v1/flows', flow({ filter: 'event.body = ' }));
    expect(filter.status).toBe(400);
    expect(filter.body.message[0]).toMatch(/^filter: .*position/);

    const cond = await t.api(
      'POST',
      '/api/v1/flows',
      flow({ steps: [{ id: 'a', type: 'transform', expression: '$$$(', if: 'true' }] }),
    );
    expect(cond.status).toBe(400);
    expect(cond.body.message[0]).toMatch(/^steps\[0\]\.expression: /);
  });

  it('nothing is half-written by a bad update', async () => {
    const created = await t.api('POST', '/api/v1/flows', flow());
    const bad = await t.api('PUT', `/api/v1/flows/${created.body.id}`, flow({ filter: '((' }));
    expect(bad.status).toBe(400);
    const now = await t.api('GET', `/api/v1/flows/${created.body.id}`);
    expect(now.body.version).toBe(1);
    expect((await t.api('GET', `/api/v1/flows/${created.body.id}/versions`)).body.items).toHaveLength(1);
  });

  it('pages lists with limit and cursor, and refuses a limit out of range', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 5; i++)
      mine.push((await t.api('POST', '/api/v1/flows', flow({ name: `page-${i}` }))).body.id);
    // Other test files share this database and add flows meanwhile: each page is checked for
    // repeats, and this test's own flows must all be met on the way.
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await t.api('GET', `/api/v1/flows?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      for (const f of res.body.items) {
        expect(seen.has(f.id)).toBe(false);
        seen.add(f.id);
      }
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 1000);
    expect(cursor).toBeNull();
    for (const id of mine) expect(seen.has(id)).toBe(true);
    expect((await t.api('GET', '/api/v1/flows?limit=0')).status).toBe(400);
    expect((await t.api('GET', '/api/v1/flows?limit=201')).status).toBe(400);
    expect((await t.api('GET', '/api/v1/flows?cursor=garbage')).status).toBe(400);
  });

  it('refuses a non-JSON body and malformed JSON on the API', async () => {
    const res = await fetch(`${t.url}/api/v1/flows`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-bootstrap-key', 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });
});
