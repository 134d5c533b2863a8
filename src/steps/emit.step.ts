import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { CompiledTemplate, compileTemplate, toText } from 'src/expressions/template';
import { maskSecrets } from 'src/secrets/secret-cipher';
import { EVENT_TYPE_PATTERN } from 'src/steps/event-publisher';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepFailure, StepHandler, StepRunContext } from 'src/steps/step-handler';

/** An execution at this depth may not emit: a flow that emits what it listens to stops here. */
export const MAX_EMIT_DEPTH = 8;

/** Literal event-type characters or whole `{{ … }}` parts (checked again after rendering). */
const EVENT_OR_TEMPLATE = /^(?:[A-Za-z0-9_.:\-/]+|\{\{[\s\S]*?\}\})+$/;

export class EmitStepDto extends StepBaseDto {
  @IsIn(['emit']) declare type: 'emit';
  @IsString()
  @MaxLength(1000)
  @Matches(EVENT_OR_TEMPLATE, { message: 'event may hold letters, digits and _ . : - / (or {{ }} parts)' })
  event!: string;
  /** Becomes `event.body` of the runs it starts; `{}` when absent. */
  @IsOptional() data?: unknown;
}

export interface CompiledEmit {
  event: CompiledTemplate;
  data: CompiledTemplate;
}

export interface RenderedEmit {
  event: string;
  data: unknown;
}

async function renderEmit(
  c: CompiledEmit,
  ctx: Pick<StepRunContext, 'input' | 'bindings'>,
): Promise<RenderedEmit> {
  const event = toText(await c.event.render(ctx.input, ctx.bindings));
  const data = await c.data.render(ctx.input, ctx.bindings);
  if (event.length === 0 || event.length > 200 || !EVENT_TYPE_PATTERN.test(event)) {
    throw new StepFailure(
      `event "${event.slice(0, 200)}" is not an event type (1-200 letters, digits and _ . : - /)`,
      false,
      { request: { event, data } },
    );
  }
  return { event, data };
}

/** Publishes an event through the bus (API.md `emit`): one run per flow listening to its type. */
export const emitStep: StepHandler<EmitStepDto, CompiledEmit> = {
  type: 'emit',
  dto: EmitStepDto,
  pure: false,
  defaultAttempts: 1,
  compile(def, path) {
    return {
      event: compileTemplate(def.event, `${path}.event`),
      data: compileTemplate(def.data === undefined ? {} : def.data, `${path}.data`),
    };
  },
  async run(c, _def, ctx) {
    const request = await renderEmit(c, ctx);
    if (ctx.depth >= MAX_EMIT_DEPTH) {
      throw new StepFailure(
        `emit chain too deep: this execution is at depth ${ctx.depth} and the limit is ${MAX_EMIT_DEPTH} ` +
          `(does a flow emit an event it listens to?); "${request.event}" was not published`,
        false,
        { request },
      );
    }
    const bus = ctx.services.events;
    if (!bus) throw new StepFailure('the event bus is not available in this process', false, { request });
    let published;
    try {
      // One key per step and execution: a step run again after a crash answers the first result.
      published = await bus.publish({
        type: request.event,
        // The event is stored as the body of the runs it starts: secret values go as *** (API.md §7).
        // A flow that needs a secret reads $secrets itself.
        data: maskSecrets(request.data, Object.values(ctx.bindings.secrets)),
        idempotencyKey: `emit:${ctx.executionId}:${ctx.stepId}`,
        depth: ctx.depth + 1,
      });
    } catch (e) {
      throw new StepFailure(`could not publish "${request.event}": ${(e as Error).message}`, true, {
        request,
      });
    }
    return {
      kind: 'succeeded',
      output: { eventId: published.eventId, executionIds: published.executionIds },
      request,
    };
  },
  async preview(c, _def, ctx) {
    return { request: await renderEmit(c, ctx) };
  },
};
