import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { CompiledTemplate, compileTemplate } from 'src/expressions/template';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepFailure, StepHandler, StepOutcome, StepRunContext } from 'src/steps/step-handler';

/** The longest wait, for `ms` and for `until` alike. */
export const MAX_DELAY_MS = 30 * 86_400_000;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** An ISO 8601 date or date-time as text; undefined when it is not one. */
export function parseIsoTime(text: string): number | undefined {
  const trimmed = text.trim();
  if (!ISO_TIME.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : at;
}

function IsTimeOrTemplate(): PropertyDecorator {
  return ValidateBy({
    name: 'isTimeOrTemplate',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && (v.includes('{{') || parseIsoTime(v) !== undefined),
      defaultMessage: () => 'until must be an ISO 8601 time (2030-01-01T09:00:00Z) or a {{ }} template',
    },
  });
}

function NotWithUntil(): PropertyDecorator {
  return ValidateBy({
    name: 'notWithUntil',
    validator: {
      validate: (_v: unknown, args) => (args?.object as { until?: unknown }).until === undefined,
      defaultMessage: () => 'ms cannot be combined with until; give one of them',
    },
  });
}

export class DelayStepDto extends StepBaseDto {
  @IsIn(['delay']) declare type: 'delay';

  @ValidateIf((o: DelayStepDto) => o.ms !== undefined || o.until === undefined)
  @IsInt({ message: 'ms must be a whole number of milliseconds (give ms or until)' })
  @Min(0)
  @Max(MAX_DELAY_MS)
  @NotWithUntil()
  ms?: number;

  @IsOptional() @IsString() @MaxLength(1000) @IsTimeOrTemplate() until?: string;
}

export interface CompiledDelay {
  until?: CompiledTemplate;
}

/** When a delay is due, from `ms` or the rendered `until` (ISO text, or epoch milliseconds). */
export async function dueTime(
  c: CompiledDelay,
  def: DelayStepDto,
  ctx: Pick<StepRunContext, 'input' | 'bindings'>,
  now: number,
): Promise<number> {
  if (def.ms !== undefined) return now + def.ms;
  const value = c.until ? await c.until.render(ctx.input, ctx.bindings) : undefined;
  const at =
    typeof value === 'number' && Number.isFinite(value)
      ? value
      : typeof value === 'string'
        ? parseIsoTime(value)
        : undefined;
  if (at === undefined) {
    throw new StepFailure(`until rendered to ${JSON.stringify(value)}, which is not an ISO 8601 time`, false);
  }
  if (at - now > MAX_DELAY_MS) {
    throw new StepFailure(`until ${new Date(at).toISOString()} is more than 30 days away`, false);
  }
  return at;
}

/**
 * The outcome of one run of a delay: wait until due (a delayed job, no worker held), or done.
 * `resumeAt` is set when the delayed job fires; a job that fires early waits again for the rest.
 * `waitedMs` counts from when the wait began: exact for `ms`; for `until` the step cannot see when it
 * was reached, so it counts from the event's `receivedAt`.
 */
export function delayOutcome(
  def: DelayStepDto,
  due: number,
  now: number,
  resumeAt: string | undefined,
  receivedAt: unknown,
): StepOutcome {
  if (now < due) return { kind: 'wait', until: new Date(due) };
  if (resumeAt === undefined) return { kind: 'succeeded', output: { waitedMs: 0 } };
  const received = typeof receivedAt === 'string' ? Date.parse(receivedAt) : NaN;
  const began = def.ms !== undefined ? due - def.ms : Number.isNaN(received) ? due : received;
  return { kind: 'succeeded', output: { waitedMs: Math.max(0, Math.round(now - began)) } };
}

/** Waits for `ms` or until a time (API.md section 3): its own delayed job, so no worker is held. */
export const delayStep: StepHandler<DelayStepDto, CompiledDelay> = {
  type: 'delay',
  dto: DelayStepDto,
  pure: false,
  defaultAttempts: 1,
  compile(def, path) {
    return { until: def.until === undefined ? undefined : compileTemplate(def.until, `${path}.until`) };
  },
  async run(c, def, ctx) {
    const now = Date.now();
    // On resume the due time is the one fixed when the wait began, not a fresh render.
    const due = ctx.resumeAt !== undefined ? Date.parse(ctx.resumeAt) : await dueTime(c, def, ctx, now);
    const event = ctx.input.event as { receivedAt?: unknown } | null;
    return delayOutcome(def, due, now, ctx.resumeAt, event?.receivedAt);
  },
  async preview(c, def, ctx) {
    const now = Date.now();
    const due = await dueTime(c, def, ctx, now);
    return { output: { until: new Date(due).toISOString(), waitMs: Math.max(0, due - now) } };
  },
};
