import 'reflect-metadata';
import { validateShape } from 'src/common/validate-shape';
import { EmitStepDto, emitStep, MAX_EMIT_DEPTH } from 'src/steps/emit.step';
import { EventPublisher } from 'src/steps/event-publisher';
import { StepFailure, StepRunContext } from 'src/steps/step-handler';

type Published = Parameters<EventPublisher['publish']>[0];

function context(depth: number, published: Published[], fail = false): StepRunContext {
  const events: EventPublisher = {
    async publish(event) {
      if (fail) throw new Error('connection terminated');
      published.push(event);
      return { eventId: 'ev-1', executionIds: ['ex-a', 'ex-b'], duplicate: false };
    },
  };
  return {
    input: {
      event: { body: { status: 'paid', id: 7 } },
      steps: { sum: 12 },
      flow: { id: 'f', name: 'n', version: 1 },
      execution: { id: 'exec-1' },
    },
    bindings: { secrets: {} },
    executionId: 'exec-1',
    flowId: 'f',
    stepId: 'next',
    attempt: 1,
    depth,
    deliveryId: 'msg_1',
    services: { http: { send: () => Promise.reject(new Error('no http')) }, slackApiUrl: '', events },
  };
}

const def = {
  id: 'next',
  type: 'emit',
  event: 'order.{{ event.body.status }}',
  data: { order: '{{ event.body.id }}', total: '{{ steps.sum }}' },
} as EmitStepDto;

describe('emit step', () => {
  it('publishes the rendered event one level deeper, keyed by execution and step', async () => {
    const published: Published[] = [];
    const outcome = await emitStep.run(emitStep.compile(def, 'steps[0]'), def, context(3, published));
    expect(published).toEqual([
      { type: 'order.paid', data: { order: 7, total: 12 }, idempotencyKey: 'emit:exec-1:next', depth: 4 },
    ]);
    expect(outcome).toEqual({
      kind: 'succeeded',
      output: { eventId: 'ev-1', executionIds: ['ex-a', 'ex-b'] },
      request: { event: 'order.paid', data: { order: 7, total: 12 } },
    });
  });

  it(`fails without publishing, and without retry, at depth ${MAX_EMIT_DEPTH}`, async () => {
    const published: Published[] = [];
    const run = emitStep.run(emitStep.compile(def, 'steps[0]'), def, context(MAX_EMIT_DEPTH, published));
    await expect(run).rejects.toThrow(
      'emit chain too deep: this execution is at depth 8 and the limit is 8 ' +
        '(does a flow emit an event it listens to?); "order.paid" was not published',
    );
    await expect(run).rejects.toMatchObject({ retryable: false });
    expect(published).toEqual([]);
    await expect(
      emitStep.run(emitStep.compile(def, 'steps[0]'), def, context(MAX_EMIT_DEPTH - 1, published)),
    ).resolves.toMatchObject({ kind: 'succeeded' });
    expect(published[0].depth).toBe(MAX_EMIT_DEPTH);
  });

  it('fails without retry when the event renders to something that is not an event type', async () => {
    const bad = { ...def, event: '{{ event.body.nothing }}' } as EmitStepDto;
    const run = emitStep.run(emitStep.compile(bad, 'steps[0]'), bad, context(0, []));
    await expect(run).rejects.toBeInstanceOf(StepFailure);
    await expect(run).rejects.toMatchObject({
      retryable: false,
      message: expect.stringContaining('event ""'),
    });
  });

  it('turns a publishing error into a retryable failure', async () => {
    const run = emitStep.run(emitStep.compile(def, 'steps[0]'), def, context(0, [], true));
    await expect(run).rejects.toMatchObject({
      retryable: true,
      message: 'could not publish "order.paid": connection terminated',
    });
  });

  it('defaults data to {} and previews without publishing', async () => {
    const bare = { id: 'e', type: 'emit', event: 'ping' } as EmitStepDto;
    const published: Published[] = [];
    const preview = await emitStep.preview!(emitStep.compile(bare, 'steps[0]'), bare, context(0, published));
    expect(preview).toEqual({ request: { event: 'ping', data: {} } });
    expect(published).toEqual([]);
  });

  it("publishes secret values in its data as ***: the event is stored as another run's body", async () => {
    const withSecret = {
      ...def,
      data: { token: '{{ $secrets.TOKEN }}', note: 'key={{ $secrets.TOKEN }}', id: '{{ event.body.id }}' },
    } as EmitStepDto;
    const published: Published[] = [];
    const ctx = { ...context(0, published), bindings: { secrets: { TOKEN: 'tok-3f9a1c' } } };
    await emitStep.run(emitStep.compile(withSecret, 'steps[0]'), withSecret, ctx);
    expect(published[0].data).toEqual({ token: '***', note: 'key=***', id: 7 });
  });

  it('validates the event field when the flow is saved', () => {
    const ok = validateShape(EmitStepDto, { id: 'e', type: 'emit', event: 'a.{{ x }}/b' }, 'steps[0]');
    expect(ok.errors).toEqual([]);
    const bad = validateShape(EmitStepDto, { id: 'e', type: 'emit', event: 'a b', more: 1 }, 'steps[0]');
    expect(bad.errors).toEqual([
      'property steps[0].more should not exist',
      'steps[0].event may hold letters, digits and _ . : - / (or {{ }} parts)',
    ]);
  });
});
