import 'reflect-metadata';
import { validateShape } from 'src/common/validate-shape';
import { NatsStepDto, natsStep } from 'src/steps/nats.step';

const input = {
  event: { body: { kind: 'order', id: 9 } },
  steps: {},
  flow: { id: 'f', name: 'n', version: 1 },
  execution: { id: 'e' },
};
const ctx = { input, bindings: { secrets: {} }, depth: 0, services: { slackApiUrl: '' } };
const def = {
  id: 'pub',
  type: 'nats',
  url: 'nats://svc:pw@nats.internal:4222',
  subject: 'events.{{ event.body.kind }}',
  headers: { 'x-id': '{{ event.body.id }}', gone: '{{ event.body.none }}' },
  body: { id: '{{ event.body.id }}' },
} as NatsStepDto;

describe('nats step', () => {
  it('requires url, subject and body', () => {
    expect(validateShape(NatsStepDto, def, 's').errors).toEqual([]);
    const { errors } = validateShape(NatsStepDto, { id: 'p', type: 'nats' }, 's');
    expect(errors).toEqual(
      expect.arrayContaining(['s.url must be a string', 's.subject must be a string', 's.body is required']),
    );
  });

  it('previews subject, headers (absent values left out) and body, password masked', async () => {
    expect(await natsStep.preview!(natsStep.compile(def, 's'), def, ctx)).toEqual({
      request: {
        url: 'nats://***@nats.internal:4222',
        subject: 'events.order',
        headers: { 'x-id': '9' },
        body: { id: 9 },
      },
    });
  });

  it.each(['events.*', 'events.>', 'a..b', 'has space', '.lead'])(
    'refuses to publish to %s',
    async (subject) => {
      const d = { ...def, subject };
      await expect(natsStep.preview!(natsStep.compile(d, 's'), d, ctx)).rejects.toMatchObject({
        retryable: false,
      });
    },
  );

  it('takes only nats:// URLs', async () => {
    const d = { ...def, url: 'tls://nats.internal:4222' };
    await expect(natsStep.preview!(natsStep.compile(d, 's'), d, ctx)).rejects.toThrow(
      'url: tls: URLs are not allowed; use nats://',
    );
  });
});
