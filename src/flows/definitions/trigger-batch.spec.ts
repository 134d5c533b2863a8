import 'reflect-metadata';
import { compileFlow, FlowDefinitionError, validateDefinition } from 'src/flows/flow-compiler';

const FLOW = { id: '11111111-1111-4111-8111-111111111111', name: 'f', version: 3 };

const validate = (trigger: Record<string, unknown>) => validateDefinition({ trigger, steps: [] });

describe('trigger.batch settings', () => {
  it('accepts maxItems 2–1000 and windowMs 100–3600000 on webhook, event and broker triggers', () => {
    for (const trigger of [
      { type: 'webhook' },
      { type: 'event', event: 'order.paid' },
      { type: 'amqp', url: 'amqp://127.0.0.1', queue: 'q' },
    ]) {
      const { definition, errors } = validate({
        ...trigger,
        batch: { maxItems: 2, windowMs: 100, key: 'event.body.k' },
      });
      expect(errors).toEqual([]);
      expect(definition.trigger).toMatchObject({
        batch: { maxItems: 2, windowMs: 100, key: 'event.body.k' },
      });
    }
    expect(validate({ type: 'webhook', batch: { maxItems: 1000, windowMs: 3_600_000 } }).errors).toEqual([]);
    // null is no batch at all.
    const none = validate({ type: 'webhook', batch: null });
    expect(none.errors).toEqual([]);
    expect(none.definition.trigger).not.toHaveProperty('batch');
  });

  it('names the field of each bad setting', () => {
    expect(validate({ type: 'webhook', batch: { maxItems: 1001, windowMs: 99 } }).errors).toEqual([
      'trigger.batch.maxItems must not be greater than 1000',
      'trigger.batch.windowMs must not be less than 100',
    ]);
    expect(validate({ type: 'webhook', batch: { maxItems: 2.5, windowMs: 1000 } }).errors).toEqual([
      'trigger.batch.maxItems must be an integer number',
    ]);
    expect(validate({ type: 'webhook', batch: { windowMs: 1000, size: 3 } }).errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('property trigger.batch.size should not exist'),
        expect.stringContaining('trigger.batch.maxItems'),
      ]),
    );
    expect(validate({ type: 'webhook', batch: 'yes' }).errors).toEqual(['trigger.batch must be an object']);
  });

  it('refuses batch on a schedule trigger and with a sync answer', () => {
    expect(
      validate({ type: 'schedule', cron: '* * * * *', batch: { maxItems: 2, windowMs: 100 } }).errors,
    ).toEqual([
      'trigger.batch is not available on a schedule trigger (only on webhook, event, amqp, mqtt, nats)',
    ]);
    expect(
      validate({ type: 'webhook', response: { mode: 'sync' }, batch: { maxItems: 2, windowMs: 100 } }).errors,
    ).toEqual([expect.stringContaining('trigger.batch cannot be used with trigger.response.mode "sync"')]);
  });

  it('compiles the key, and a key that does not parse is a 400 naming trigger.batch.key', () => {
    const keyed = validate({ type: 'webhook', batch: { maxItems: 2, windowMs: 100, key: 'event.body.k' } });
    expect(compileFlow(FLOW, keyed.definition).batch).toMatchObject({
      maxItems: 2,
      windowMs: 100,
      key: expect.anything(),
    });
    const { definition } = validate({
      type: 'webhook',
      batch: { maxItems: 2, windowMs: 100, key: 'event.(' },
    });
    try {
      compileFlow(FLOW, definition);
      throw new Error('compiled');
    } catch (e) {
      expect(e).toBeInstanceOf(FlowDefinitionError);
      expect((e as FlowDefinitionError).messages).toEqual([expect.stringMatching(/^trigger\.batch\.key: /)]);
    }
  });
});
