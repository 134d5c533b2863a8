import 'reflect-metadata';
import { batchEvent, batchGroup, joinsBatch } from 'src/executions/batching/batch-group';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { compileFlow, validateDefinition } from 'src/flows/flow-compiler';

const FLOW = { id: '11111111-1111-4111-8111-111111111111', name: 'f', version: 3 };

const validate = (trigger: Record<string, unknown>) => validateDefinition({ trigger, steps: [] });

const flowWith = (batch: Record<string, unknown>, version = 3) => {
  const { definition, errors } = validate({ type: 'webhook', batch });
  expect(errors).toEqual([]);
  return compileFlow({ ...FLOW, version }, definition);
};

const event = (body: unknown, type: FlowEvent['type'] = 'webhook'): FlowEvent => ({
  id: 'e',
  type,
  receivedAt: '2026-01-01T00:00:00.000Z',
  body,
});

describe('batchGroup', () => {
  it('names one group per key value, under the flow id and version, without the value in clear', async () => {
    const flow = flowWith({ maxItems: 2, windowMs: 100, key: 'event.body.customer' });
    const a = await batchGroup(flow, event({ customer: 'ada@example.com' }), {});
    const b = await batchGroup(flow, event({ customer: 'ada@example.com', other: 1 }), {});
    const c = await batchGroup(flow, event({ customer: 'bob@example.com' }), {});
    expect(a.key).toBe(b.key);
    expect(a.key).not.toBe(c.key);
    expect(a.key).toMatch(/^11111111-1111-4111-8111-111111111111\/3\/[A-Za-z0-9_-]{43}$/);
    expect(a.key).not.toContain('ada');
    // An edited flow (another version) gathers into groups of its own.
    const edited = flowWith({ maxItems: 2, windowMs: 100, key: 'event.body.customer' }, 4);
    expect((await batchGroup(edited, event({ customer: 'ada@example.com' }), {})).key).not.toBe(a.key);
  });

  it('puts no key, and a key with no value, in the flow’s one group', async () => {
    const none = await batchGroup(flowWith({ maxItems: 2, windowMs: 100 }), event({}), {});
    const keyed = flowWith({ maxItems: 2, windowMs: 100, key: 'event.body.k' });
    expect((await batchGroup(keyed, event({}), {})).key).toBe(none.key);
    expect((await batchGroup(keyed, event({ k: null }), {})).key).toBe(none.key);
    expect((await batchGroup(keyed, event({ k: '' }), {})).key).toBe(none.key);
    expect((await batchGroup(keyed, event({ k: 1 }), {})).key).toBe(
      (await batchGroup(keyed, event({ k: '1' }), {})).key,
    );
  });

  it('reports a key that fails on this event, with secrets masked', async () => {
    const flow = flowWith({ maxItems: 2, windowMs: 100, key: '$error("bad " & $secrets.TOKEN)' });
    const r = await batchGroup(flow, event({}), { TOKEN: 'hunter2hunter2' });
    expect(r.key).toBeUndefined();
    expect(r.failure).toMatch(/^trigger\.batch\.key failed: /);
    expect(r.failure).not.toContain('hunter2hunter2');
  });
});

describe('joinsBatch and batchEvent', () => {
  it('batches trigger events only: not manual runs, schedules or a replayed batch', () => {
    const { batch } = flowWith({ maxItems: 2, windowMs: 100 });
    for (const type of ['webhook', 'event', 'amqp', 'mqtt', 'nats'] as const)
      expect(joinsBatch(batch, event({}, type))).toBe(true);
    for (const type of ['manual', 'schedule', 'batch'] as const)
      expect(joinsBatch(batch, event({}, type))).toBe(false);
    expect(joinsBatch(undefined, event({}))).toBe(false);
  });

  it('builds the group event: bodies and whole events in arrival order, receivedAt of the first', () => {
    const envelope: FlowEvent = { id: 'g', type: 'batch', receivedAt: 'x', body: [], events: [] };
    const members = [1, 2, 3].map((n) => ({
      ...event({ n }),
      id: `e${n}`,
      receivedAt: `2026-01-01T00:00:0${n}.000Z`,
    }));
    expect(batchEvent(envelope, members)).toEqual({
      id: 'g',
      type: 'batch',
      receivedAt: '2026-01-01T00:00:01.000Z',
      body: [{ n: 1 }, { n: 2 }, { n: 3 }],
      events: members,
    });
    expect(batchEvent(envelope, [])).toEqual({ ...envelope, body: [], events: [] });
  });
});
