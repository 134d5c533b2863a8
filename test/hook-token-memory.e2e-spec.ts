import { bootApp, fire, TestApp } from './support/app';

/**
 * The accept path remembers trigger tokens (no lookup query per request). Two API processes here:
 * a change made through one must hold at once in the other, which still remembers the old flow.
 */
describe('remembered trigger tokens never outlive a change', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await bootApp({ MODE: 'api' });
    b = await bootApp({ MODE: 'api' });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  async function remembered(
    trigger: Record<string, unknown> = { type: 'webhook' },
  ): Promise<{ id: string; token: string }> {
    const flow = await b.api('POST', '/api/v1/flows', { name: 'remembered', trigger, steps: [] });
    expect(flow.status).toBe(201);
    // a takes one event, and so remembers the token.
    expect((await fire(`${a.url}/hooks/${flow.body.trigger.token}`, { n: 0 })).status).toBe(202);
    return { id: flow.body.id, token: flow.body.trigger.token };
  }

  async function execution(id: string): Promise<any> {
    return (await a.api('GET', `/api/v1/executions/${id}`)).body;
  }

  it('a rotated token answers 404 in the other process, for good and for bad requests alike', async () => {
    const { id, token } = await remembered();
    expect((await b.api('POST', `/api/v1/flows/${id}/rotate-token`)).status).toBe(200);
    expect((await fire(`${a.url}/hooks/${token}`, { n: 1 })).status).toBe(404);
    const { id: id2, token: token2 } = await remembered();
    await b.api('POST', `/api/v1/flows/${id2}/rotate-token`);
    // A refusal (wrong method, malformed body) by the remembered flow is checked afresh first.
    expect((await fire(`${a.url}/hooks/${token2}`, {}, {}, 'PUT')).status).toBe(404);
    expect((await fire(`${a.url}/hooks/${token2}`, '{"broken":', {})).status).toBe(404);
  });

  it('a disabled or deleted flow answers 404 at once; enabled again, it takes events again', async () => {
    const { id, token } = await remembered();
    await b.api('PATCH', `/api/v1/flows/${id}`, { enabled: false });
    expect((await fire(`${a.url}/hooks/${token}`, {})).status).toBe(404);
    await b.api('PATCH', `/api/v1/flows/${id}`, { enabled: true });
    expect((await fire(`${a.url}/hooks/${token}`, {})).status).toBe(202);
    await b.api('DELETE', `/api/v1/flows/${id}`);
    expect((await fire(`${a.url}/hooks/${token}`, {})).status).toBe(404);
  });

  it('an edited flow runs its new version at once, with its new methods and body limit', async () => {
    const { id, token } = await remembered({ type: 'webhook', maxBody: '1kb' });
    const hook = `${a.url}/hooks/${token}`;
    expect((await fire(hook, { pad: 'x'.repeat(2000) })).status).toBe(413);
    const edited = await b.api('PATCH', `/api/v1/flows/${id}`, {
      trigger: { type: 'webhook', maxBody: '64kb', methods: ['POST', 'PUT'] },
    });
    expect(edited.status).toBe(200);
    expect(edited.body.version).toBe(2);
    const big = await fire(hook, { pad: 'x'.repeat(2000) });
    expect(big.status).toBe(202);
    expect((await execution(big.body.executionId)).flowVersion).toBe(2);
    const put = await fire(hook, { n: 2 }, {}, 'PUT');
    expect(put.status).toBe(202);
    expect((await execution(put.body.executionId)).flowVersion).toBe(2);
  });
});
