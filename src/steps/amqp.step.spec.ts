import 'reflect-metadata';
import { validateShape } from 'src/common/validate-shape';
import { AmqpStepDto, amqpStep } from 'src/steps/amqp.step';
import { StepFailure, StepRunContext } from 'src/steps/step-handler';

const input = {
  event: { body: { id: 7, kind: 'paid' } },
  steps: {},
  flow: { id: 'f', name: 'n', version: 1 },
  execution: { id: 'e' },
};
const bindings = { secrets: { AMQP: 'amqp://app:s3cret@rabbit.internal:5672/shop' } };

const def = {
  id: 'pub',
  type: 'amqp',
  url: '{{ $secrets.AMQP }}',
  exchange: 'orders',
  routingKey: 'order.{{ event.body.kind }}',
  headers: { 'x-id': '{{ event.body.id }}' },
  body: { id: '{{ event.body.id }}' },
} as AmqpStepDto;

describe('amqp step', () => {
  it('validates its fields', () => {
    expect(validateShape(AmqpStepDto, def, 'steps[0]').errors).toEqual([]);
    const { errors } = validateShape(
      AmqpStepDto,
      { id: 'p', type: 'amqp', url: 'amqp://h', persistent: 'yes' },
      'steps[0]',
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('steps[0].routingKey'),
        expect.stringContaining('body is required'),
        expect.stringContaining('steps[0].persistent'),
      ]),
    );
  });

  it('previews the message with the URL masked; exchange defaults to "" and persistent to true', async () => {
    const c = amqpStep.compile(def, 'steps[0]');
    expect(
      await amqpStep.preview!(c, def, { input, bindings, depth: 0, services: { slackApiUrl: '' } }),
    ).toEqual({
      request: {
        url: 'amqp://***@rabbit.internal:5672/shop',
        exchange: 'orders',
        routingKey: 'order.paid',
        headers: { 'x-id': '7' },
        body: { id: 7 },
        persistent: true,
      },
    });
    const bare = { ...def, exchange: undefined };
    const preview = await amqpStep.preview!(amqpStep.compile(bare, 'p'), bare, {
      input,
      bindings,
      depth: 0,
      services: { slackApiUrl: '' },
    });
    expect(preview.request).toMatchObject({ exchange: '' });
  });

  it('refuses another scheme and an over-long routing key, finally', async () => {
    const ctx = {
      input,
      bindings: { secrets: { AMQP: 'http://h' } },
      depth: 0,
      services: { slackApiUrl: '' },
    };
    const c = amqpStep.compile(def, 'steps[0]');
    await expect(amqpStep.preview!(c, def, ctx)).rejects.toThrow(
      'url: http: URLs are not allowed; use amqp://, amqps://',
    );
    const long = { ...def, routingKey: 'k'.repeat(256) };
    const run = amqpStep.run(amqpStep.compile(long, 'p'), long, {
      input,
      bindings,
      services: { http: { send: () => Promise.reject(new Error('no')) }, slackApiUrl: '' },
    } as unknown as StepRunContext);
    await expect(run).rejects.toBeInstanceOf(StepFailure);
    await expect(run).rejects.toMatchObject({
      retryable: false,
      message: 'routingKey is longer than 255 bytes',
    });
  });
});
