import 'reflect-metadata';
import { validateShape } from 'src/common/validate-shape';
import {
  DelayStepDto,
  delayOutcome,
  delayStep,
  dueTime,
  MAX_DELAY_MS,
  parseIsoTime,
} from 'src/steps/delay.step';
import { StepFailure } from 'src/steps/step-handler';

const ctx = {
  input: {
    event: { body: { at: '2030-01-01T00:00:00Z' } },
    steps: {},
    flow: { id: 'f', name: 'n', version: 1 },
    execution: { id: 'e' },
  },
  bindings: { secrets: {} },
};

describe('DelayStepDto', () => {
  const errors = (step: Record<string, unknown>): string[] =>
    validateShape(DelayStepDto, { id: 'd', type: 'delay', ...step }, 'steps[0]').errors;

  it.each([
    [{ ms: 0 }],
    [{ ms: MAX_DELAY_MS }],
    [{ until: '2030-01-01T09:00:00Z' }],
    [{ until: '2030-01-01T09:00:00.250+02:00' }],
    [{ until: '{{ event.body.at }}' }],
  ])('accepts %j', (step) => {
    expect(errors(step)).toEqual([]);
  });

  it.each([
    [{}, 'steps[0].ms must be a whole number of milliseconds (give ms or until)'],
    [{ ms: 10, until: '2030-01-01T00:00:00Z' }, 'steps[0].ms cannot be combined with until'],
    [{ ms: -1 }, 'steps[0].ms must not be less than 0'],
    [{ ms: MAX_DELAY_MS + 1 }, `steps[0].ms must not be greater than ${MAX_DELAY_MS}`],
    [{ ms: 1.5 }, 'steps[0].ms must be a whole number'],
    [{ until: 'tomorrow' }, 'steps[0].until must be an ISO 8601 time'],
    [{ until: 5 }, 'steps[0].until must be a string'],
  ])('refuses %j', (step, message) => {
    expect(errors(step).join('; ')).toContain(message);
  });
});

describe('parseIsoTime', () => {
  it.each([
    ['2030-01-01', Date.parse('2030-01-01T00:00:00Z')],
    ['2030-01-01T09:00:00Z', Date.parse('2030-01-01T09:00:00Z')],
    ['2030-01-01T09:00:00+02:00', Date.parse('2030-01-01T07:00:00Z')],
    ['next tuesday', undefined],
    ['2030-13-01T00:00:00Z', undefined],
    ['1893456000000', undefined],
  ])('%s → %s', (text, at) => {
    expect(parseIsoTime(text)).toBe(at);
  });
});

describe('dueTime', () => {
  const now = Date.parse('2029-12-31T12:00:00Z');
  const compiled = (def: DelayStepDto) => delayStep.compile(def, 'steps[0]');

  it('adds ms to now', async () => {
    const def = { id: 'd', type: 'delay', ms: 1500 } as DelayStepDto;
    expect(await dueTime(compiled(def), def, ctx, now)).toBe(now + 1500);
  });

  it('renders until from a template, or takes epoch milliseconds', async () => {
    const def = { id: 'd', type: 'delay', until: '{{ event.body.at }}' } as DelayStepDto;
    expect(await dueTime(compiled(def), def, ctx, now)).toBe(Date.parse('2030-01-01T00:00:00Z'));
    const millis = { id: 'd', type: 'delay', until: '{{ 1893456000000 }}' } as DelayStepDto;
    expect(await dueTime(compiled(millis), millis, ctx, now)).toBe(1893456000000);
  });

  it('fails at once on a time that is not ISO, or further than 30 days', async () => {
    const bad = { id: 'd', type: 'delay', until: "{{ 'soon' }}" } as DelayStepDto;
    const e1 = await dueTime(compiled(bad), bad, ctx, now).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(StepFailure);
    expect((e1 as StepFailure).message).toBe('until rendered to "soon", which is not an ISO 8601 time');
    expect((e1 as StepFailure).retryable).toBe(false);
    const far = { id: 'd', type: 'delay', until: '2031-01-01T00:00:00Z' } as DelayStepDto;
    await expect(dueTime(compiled(far), far, ctx, now)).rejects.toThrow('more than 30 days away');
  });
});

describe('delayOutcome', () => {
  const ms = { id: 'd', type: 'delay', ms: 1000 } as DelayStepDto;
  const until = { id: 'd', type: 'delay', until: '2030-01-01T00:00:00Z' } as DelayStepDto;

  it('waits until due when first reached', () => {
    expect(delayOutcome(ms, 11_000, 10_000, undefined, undefined)).toEqual({
      kind: 'wait',
      until: new Date(11_000),
    });
  });

  it('goes on at once when the time has passed', () => {
    expect(delayOutcome(until, 5_000, 10_000, undefined, undefined)).toEqual({
      kind: 'succeeded',
      output: { waitedMs: 0 },
    });
  });

  it('waits again for the rest when the job fires early', () => {
    const resumeAt = new Date(11_000).toISOString();
    expect(delayOutcome(ms, 11_000, 10_990, resumeAt, undefined)).toEqual({
      kind: 'wait',
      until: new Date(11_000),
    });
  });

  it('reports the time waited on resume: from the start of the wait for ms', () => {
    const resumeAt = new Date(11_000).toISOString();
    expect(delayOutcome(ms, 11_000, 11_040, resumeAt, undefined)).toEqual({
      kind: 'succeeded',
      output: { waitedMs: 1040 },
    });
  });

  it('for until, from the event receipt', () => {
    const resumeAt = new Date(11_000).toISOString();
    expect(delayOutcome(until, 11_000, 11_020, resumeAt, new Date(6_000).toISOString())).toEqual({
      kind: 'succeeded',
      output: { waitedMs: 5020 },
    });
  });
});
