import { bootApp, fire, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { FINAL_STATUSES } from './support/flow-runs';
import { waitFor } from './support/wait-for';

describe('inbound idempotency: one execution per key and flow', () => {
  let a: TestApp;
  let b: TestApp;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await new Receiver().start();
    // Two instances on one database: only PostgreSQL can keep them from both running a key.
    a = await bootApp();
    b = await bootApp();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await rx.stop();
  });

  async function createFlow(path: string, idempotencyKey: string): Promise<{ id: string; token: string }> {
    const res = await a.api('POST', '/api/v1/flows', {
      name: 'dedupe',
      trigger: { type: 'webhook', idempotencyKey },
      steps: [
        { id: 'deliver', type: 'http', method: 'POST', url: `${rx.url}${path}`, body: '{{ event.body }}' },
      ],
    });
    expect(res.status).toBe(201);
    return { id: res.body.id, token: res.body.trigger.token };
  }

  async function executions(flowId: string): Promise<any[]> {
    const res = await a.api('GET', `/api/v1/executions?flowId=${flowId}&limit=200`);
    expect(res.status).toBe(200);
    return res.body.items;
  }

  async function settled(flowId: string, count: number): Promise<any[]> {
    const items = await waitFor(async () => {
      const found = await executions(flowId);
      return found.length === count && found.every((e) => FINAL_STATUSES.includes(e.status)) ? found : null;
    }, 15_000);
    return items;
  }

  it('answers a repeated key with 200, the first execution id and duplicate: true, and runs nothing again', async () => {
    const { id, token } = await createFlow('/seq', 'event.headers."x-delivery-id"');
    const hook = `${a.url}/hooks/${token}`;
    const first = await fire(hook, { n: 1 }, { 'x-delivery-id': 'delivery-1' });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ executionId: expect.any(String), status: 'queued' });
    await settled(id, 1);

    for (const n of [2, 3]) {
      const again = await fire(hook, { n }, { 'x-delivery-id': 'delivery-1' });
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ executionId: first.body.executionId, duplicate: true });
    }
    // The other instance knows the key as well.
    const elsewhere = await fire(`${b.url}/hooks/${token}`, { n: 4 }, { 'x-delivery-id': 'delivery-1' });
    expect(elsewhere.body).toEqual({ executionId: first.body.executionId, duplicate: true });

    const other = await fire(hook, { n: 5 }, { 'x-delivery-id': 'delivery-2' });
    expect(other.status).toBe(202);
    // No key at all: nothing to deduplicate on, so it runs.
    const keyless = await fire(hook, { n: 6 });
    expect(keyless.status).toBe(202);

    const runs = await settled(id, 3);
    expect(runs.map((e) => e.id).sort()).toEqual(
      [first.body.executionId, other.body.executionId, keyless.body.executionId].sort(),
    );
    expect(
      rx
        .at('/seq')
        .map((r) => (r.json as { n: number }).n)
        .sort(),
    ).toEqual([1, 5, 6]);
  });

  it('keys are per flow: the same value on another flow runs there', async () => {
    const one = await createFlow('/per-flow', 'event.body.id');
    const two = await createFlow('/per-flow', 'event.body.id');
    expect((await fire(`${a.url}/hooks/${one.token}`, { id: 'same' })).status).toBe(202);
    expect((await fire(`${a.url}/hooks/${two.token}`, { id: 'same' })).status).toBe(202);
    await settled(one.id, 1);
    await settled(two.id, 1);
  });

  it('50 parallel requests with one key over two instances: exactly one execution and one delivery', async () => {
    const { id, token } = await createFlow('/parallel', 'event.headers."x-delivery-id"');
    const metric = async (t: TestApp) => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      const line = text.split('\n').find((l) => /^hookflow_webhooks_total\{.*result="duplicate"/.test(l));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const before = (await metric(a)) + (await metric(b));
    // Every request is on the wire before any answer is read.
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        fire(`${(i % 2 ? a : b).url}/hooks/${token}`, { i }, { 'x-delivery-id': 'one-key' }),
      ),
    );
    const accepted = answers.filter((r) => r.status === 202);
    const duplicates = answers.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(1);
    expect(duplicates).toHaveLength(49);
    const executionId = accepted[0].body.executionId;
    for (const d of duplicates) expect(d.body).toEqual({ executionId, duplicate: true });
    expect((await metric(a)) + (await metric(b))).toBe(before + 49);

    const runs = await settled(id, 1);
    expect(runs[0]).toMatchObject({ id: executionId, status: 'succeeded' });
    expect(rx.at('/parallel')).toHaveLength(1);
  });

  it('takes any JSON value as the key, long ones included', async () => {
    const { id, token } = await createFlow('/long-key', 'event.body');
    const hook = `${a.url}/hooks/${token}`;
    const big = { blob: 'x'.repeat(20_000), n: 1 };
    const first = await fire(hook, big);
    expect(first.status).toBe(202);
    const again = await fire(hook, big);
    expect(again.body).toEqual({ executionId: first.body.executionId, duplicate: true });
    expect((await fire(hook, { ...big, n: 2 })).status).toBe(202);
    await settled(id, 2);
  });
});
