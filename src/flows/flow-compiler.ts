import { validateShape } from 'src/common/validate-shape';
import { EventTriggerDto } from 'src/events/event-trigger.dto';
import { CompiledExpression, compileExpression, ExpressionSyntaxError } from 'src/expressions/expression';
import { CompiledTemplate, compileTemplate, TemplateSyntaxError } from 'src/expressions/template';
import { FlowDefinition, TriggerDefinition } from 'src/flows/flow-definition';
import { ScheduleTriggerDto } from 'src/schedules/schedule-trigger.dto';
import { SIGN_DTO_BY_SCHEME } from 'src/steps/outbound/sign-config.dto';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepHandler } from 'src/steps/step-handler';
import { STEP_HANDLERS, STEP_TYPES } from 'src/steps/step-registry';
import { VERIFY_DTO_BY_SCHEME } from 'src/triggers/verification/verify-config.dto';
import { WebhookTriggerDto } from 'src/triggers/webhook-trigger.dto';

export const MAX_STEPS = 100;

const TRIGGER_DTOS: Record<string, new () => object> = {
  webhook: WebhookTriggerDto,
  schedule: ScheduleTriggerDto,
  event: EventTriggerDto,
};

/** A definition that cannot be saved; each message names its field path. */
export class FlowDefinitionError extends Error {
  constructor(readonly messages: string[]) {
    super(messages.join('; '));
  }
}

export interface CompiledStep {
  def: StepBaseDto & Record<string, unknown>;
  handler: StepHandler;
  compiled: unknown;
  if?: CompiledExpression;
}

/** A flow version with every expression compiled: what the accept path and the runner use. */
export interface CompiledFlow {
  id: string;
  name: string;
  version: number;
  definition: FlowDefinition;
  filter?: CompiledExpression;
  idempotencyKey?: CompiledExpression;
  /** The `verify` block with its templates (`{{ $secrets.X }}`) compiled. */
  verify?: CompiledTemplate;
  steps: CompiledStep[];
  stepIndex: Map<string, number>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function validateNestedByScheme(
  raw: unknown,
  path: string,
  dtos: Record<string, new () => object>,
  errors: string[],
): void {
  if (!isObject(raw)) return;
  const dto = typeof raw.scheme === 'string' ? dtos[raw.scheme] : undefined;
  if (!dto) {
    errors.push(`${path}.scheme must be one of: ${Object.keys(dtos).join(', ')}`);
    return;
  }
  errors.push(...validateShape(dto, raw, path).errors);
}

function validateTrigger(raw: unknown, errors: string[]): TriggerDefinition {
  const type = isObject(raw) ? raw.type : undefined;
  const dto = typeof type === 'string' ? TRIGGER_DTOS[type] : undefined;
  if (!dto) {
    errors.push(`trigger.type must be one of: ${Object.keys(TRIGGER_DTOS).join(', ')}`);
    return raw as TriggerDefinition;
  }
  const { value, errors: e } = validateShape(dto, raw, 'trigger');
  errors.push(...e);
  if (type === 'webhook' && isObject(raw) && raw.verify !== undefined) {
    validateNestedByScheme(raw.verify, 'trigger.verify', VERIFY_DTO_BY_SCHEME, errors);
  }
  return value as TriggerDefinition;
}

/** Checks the shape of trigger, filter and steps; collects every problem instead of stopping at one. */
export function validateDefinition(raw: { trigger: unknown; filter?: unknown; steps: unknown }): {
  definition: FlowDefinition;
  errors: string[];
} {
  const errors: string[] = [];
  const trigger = validateTrigger(raw.trigger, errors);
  if (raw.filter !== undefined && raw.filter !== null && typeof raw.filter !== 'string')
    errors.push('filter must be a string');
  const steps: FlowDefinition['steps'] = [];
  if (!Array.isArray(raw.steps)) {
    errors.push('steps must be an array');
  } else if (raw.steps.length > MAX_STEPS) {
    errors.push(`steps must hold at most ${MAX_STEPS} steps`);
  } else {
    const seen = new Set<string>();
    raw.steps.forEach((step: unknown, i) => {
      const path = `steps[${i}]`;
      const type = isObject(step) ? step.type : undefined;
      const handler = typeof type === 'string' ? STEP_HANDLERS[type] : undefined;
      if (!handler) {
        errors.push(`${path}.type must be one of: ${STEP_TYPES.join(', ')}`);
        return;
      }
      const { errors: e } = validateShape(handler.dto, step, path);
      errors.push(...e);
      const def = step as StepBaseDto & Record<string, unknown>;
      if (typeof def.id === 'string') {
        if (seen.has(def.id))
          errors.push(`${path}.id "${def.id}" is used by an earlier step; step ids must be unique`);
        seen.add(def.id);
      }
      if (def.type === 'http' && def.sign !== undefined)
        validateNestedByScheme(def.sign, `${path}.sign`, SIGN_DTO_BY_SCHEME, errors);
      steps.push(def);
    });
  }
  if (trigger?.type === 'webhook' && trigger.response?.step !== undefined && Array.isArray(raw.steps)) {
    const target = trigger.response.step;
    if (!steps.some((s) => s.id === target))
      errors.push(`trigger.response.step "${target}" is not a step of this flow`);
  }
  const filter = typeof raw.filter === 'string' ? raw.filter : undefined;
  return { definition: { trigger, ...(filter !== undefined ? { filter } : {}), steps }, errors };
}

function expression(source: string, path: string, errors: string[]): CompiledExpression | undefined {
  try {
    return compileExpression(source);
  } catch (e) {
    errors.push(`${path}: ${(e as ExpressionSyntaxError).message}`);
    return undefined;
  }
}

/**
 * Compiles every JSONata expression and template of a valid definition. Throws FlowDefinitionError
 * naming each field whose expression does not parse, with the position in the expression.
 */
export function compileFlow(
  meta: { id: string; name: string; version: number },
  definition: FlowDefinition,
): CompiledFlow {
  const errors: string[] = [];
  const trigger = definition.trigger;
  const filter =
    definition.filter === undefined ? undefined : expression(definition.filter, 'filter', errors);
  let idempotencyKey: CompiledExpression | undefined;
  let verify: CompiledTemplate | undefined;
  if (trigger.type === 'webhook') {
    if (trigger.idempotencyKey !== undefined)
      idempotencyKey = expression(trigger.idempotencyKey, 'trigger.idempotencyKey', errors);
    if (trigger.verify !== undefined) {
      try {
        verify = compileTemplate(trigger.verify, 'trigger.verify');
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  }
  const steps: CompiledStep[] = definition.steps.map((def, i) => {
    const path = `steps[${i}]`;
    const handler = STEP_HANDLERS[def.type];
    let compiled: unknown;
    try {
      compiled = handler.compile(def, path);
    } catch (e) {
      if (e instanceof TemplateSyntaxError || e instanceof ExpressionSyntaxError) errors.push(e.message);
      else throw e;
    }
    const cond = def.if === undefined ? undefined : expression(def.if, `${path}.if`, errors);
    return { def, handler, compiled, if: cond };
  });
  if (errors.length > 0) throw new FlowDefinitionError(errors);
  return {
    ...meta,
    definition,
    filter,
    idempotencyKey,
    verify,
    steps,
    stepIndex: new Map(steps.map((s, i) => [s.def.id, i])),
  };
}
