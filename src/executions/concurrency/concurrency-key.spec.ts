import 'reflect-metadata';
import { concurrencyGroup } from 'src/executions/concurrency/concurrency-key';
import { compileFlow } from 'src/flows/flow-compiler';

const flowWith = (key?: string) =>
  compileFlow(
    { id: '11111111-1111-4111-8111-111111111111', name: 'f', version: 1 },
    { trigger: { type: 'webhook' }, steps: [], concurrency: { limit: 1, ...(key ? { key } : {}) } },
  );

const event = (body: unknown) => ({ id: 'e', type: 'webhook' as const, receivedAt: '', body });

describe('concurrencyGroup', () => {
  it('names one group per value of the key, under the flow id, without the value in clear', async () => {
    const flow = flowWith('event.body.customer');
    const a = await concurrencyGroup(flow, event({ customer: 'ada@example.com' }), 'x', {});
    const b = await concurrencyGroup(flow, event({ customer: 'ada@example.com' }), 'y', {});
    const c = await concurrencyGroup(flow, event({ customer: 'bob@example.com' }), 'z', {});
    expect(a.key).toBe(b.key);
    expect(a.key).not.toBe(c.key);
    expect(a.key).toMatch(/^11111111-1111-4111-8111-111111111111\/[A-Za-z0-9_-]{43}$/);
    expect(a.key).not.toContain('ada');
  });

  it('puts no key, and a key with no value, in the flow’s one shared group; 1 and "1" share one, as idempotency keys do', async () => {
    const none = await concurrencyGroup(flowWith(), event({}), 'x', {});
    const missing = await concurrencyGroup(flowWith('event.body.k'), event({}), 'x', {});
    const empty = await concurrencyGroup(flowWith('event.body.k'), event({ k: '' }), 'x', {});
    expect(missing.key).toBe(none.key);
    expect(empty.key).toBe(none.key);
    const n = await concurrencyGroup(flowWith('event.body.k'), event({ k: 1 }), 'x', {});
    const s = await concurrencyGroup(flowWith('event.body.k'), event({ k: '1' }), 'x', {});
    const o = await concurrencyGroup(flowWith('event.body.k'), event({ k: { id: 1 } }), 'x', {});
    expect(n.key).toBe(s.key);
    expect(o.key).not.toBe(n.key);
  });

  it('reports a key that fails on this event, with secrets masked', async () => {
    const flow = flowWith('$error("bad " & $secrets.TOKEN)');
    const r = await concurrencyGroup(flow, event({}), 'x', { TOKEN: 'hunter2hunter2' });
    expect(r.key).toBeUndefined();
    expect(r.failure).toMatch(/^concurrency\.key failed: /);
    expect(r.failure).not.toContain('hunter2hunter2');
  });
});
