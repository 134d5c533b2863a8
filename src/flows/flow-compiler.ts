import { IsArray, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { validateShape } from 'src/common/validate-shape';
import { CompiledExpression, compileExpression, ExpressionSyntaxError } from 'src/expressions/expression';
import { CompiledTemplate, compileTemplate, TemplateSyntaxError } from 'src/expressions/template';
import { AmqpTriggerDto, MqttTriggerDto, NatsTriggerDto } from 'src/flows/definitions/broker-trigger.dto';
import { EventTriggerDto } from 'src/flows/definitions/event-trigger.dto';
import { ScheduleTriggerDto } from 'src/flows/definitions/schedule-trigger.dto';
import { CompiledBatch, takeBatch } from 'src/flows/definitions/trigger-batch';
import { VERIFY_DTO_BY_SCHEME } from 'src/flows/definitions/verify-config.dto';
import { WebhookTriggerDto } from 'src/flows/definitions/webhook-trigger.dto';
import { FlowDefinition, TriggerDefinition } from 'src/flows/flow-definition';
import { BranchCaseDefinition, BranchStepDto } from 'src/steps/branch.step';
import { FOR_EACH_DEFAULT_MAX_ITEMS, ForEachStepDto } from 'src/steps/for-each.step';
import { SIGN_DTO_BY_SCHEME } from 'src/steps/outbound/sign-config.dto';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepHandler } from 'src/steps/step-handler';
import { STEP_HANDLERS, STEP_TYPES } from 'src/steps/step-registry';

export const MAX_STEPS = 200;
/** Levels of `branch` and `forEach` inside each other. */
export const MAX_NESTING = 4;

/** `onError: {"steps": [...]}`; the steps are checked like the flow's own. */
class OnErrorDto {
  @IsArray() steps!: unknown[];
}

/** `concurrency: {"limit": 1–1000, "key"?: JSONata}` (API.md section 3, Flow-level settings). */
class ConcurrencyDto {
  @IsInt() @Min(1) @Max(1000) limit!: number;
  @IsOptional() @IsString() @MaxLength(10_000) key?: string;
}

/** `cases[i]` of a branch: its steps are checked like the flow's own. */
class BranchCaseDto {
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'id must match [A-Za-z_][A-Za-z0-9_]*' })
  @MaxLength(64)
  id?: string;
  @IsString() @MaxLength(10_000) when!: string;
  @IsArray() steps!: unknown[];
}

interface StepsWalk {
  /** Step ids seen so far: unique in the whole flow, nested steps and onError included. */
  seen: Set<string>;
  count: number;
  errors: string[];
}

/** Checks a list of steps and, below branches, theirs; every message names its field path. */
function validateSteps(raw: unknown, path: string, depth: number, walk: StepsWalk): FlowDefinition['steps'] {
  const { errors } = walk;
  const out: FlowDefinition['steps'] = [];
  if (!Array.isArray(raw)) {
    errors.push(`${path} must be an array`);
    return out;
  }
  raw.forEach((step: unknown, i) => {
    const at = `${path}[${i}]`;
    walk.count++;
    const type = isObject(step) ? step.type : undefined;
    const handler = typeof type === 'string' ? STEP_HANDLERS[type] : undefined;
    if (!handler) {
      errors.push(`${at}.type must be one of: ${STEP_TYPES.join(', ')}`);
      return;
    }
    const { errors: e } = validateShape(handler.dto, step, at);
    errors.push(...e);
    const def = step as StepBaseDto & Record<string, unknown>;
    if (typeof def.id === 'string') {
      if (walk.seen.has(def.id))
        errors.push(
          `${at}.id "${def.id}" is used by another step; step ids must be unique in the whole flow`,
        );
      walk.seen.add(def.id);
    }
    if (def.type === 'http' && def.sign !== undefined)
      validateNestedByScheme(def.sign, `${at}.sign`, SIGN_DTO_BY_SCHEME, errors);
    if (def.type === 'branch' && e.length === 0) {
      if (depth + 1 > MAX_NESTING) {
        errors.push(`${at}: branches nest at most ${MAX_NESTING} levels deep`);
      } else {
        const b = def as unknown as BranchStepDto;
        b.cases.forEach((c, ci) => {
          const { errors: ce } = validateShape(BranchCaseDto, c, `${at}.cases[${ci}]`);
          errors.push(...ce);
          if (ce.length === 0) validateSteps(c.steps, `${at}.cases[${ci}].steps`, depth + 1, walk);
        });
        if (b.default !== undefined) validateSteps(b.default, `${at}.default`, depth + 1, walk);
      }
    }
    if (def.type === 'forEach' && e.length === 0) {
      if (depth + 1 > MAX_NESTING) {
        errors.push(`${at}: branches and loops nest at most ${MAX_NESTING} levels deep`);
      } else {
        validateSteps((def as unknown as ForEachStepDto).steps, `${at}.steps`, depth + 1, walk);
      }
    }
    out.push(def);
  });
  return out;
}

const TRIGGER_DTOS: Record<string, new () => object> = {
  webhook: WebhookTriggerDto,
  schedule: ScheduleTriggerDto,
  event: EventTriggerDto,
  amqp: AmqpTriggerDto,
  mqtt: MqttTriggerDto,
  nats: NatsTriggerDto,
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
  /** A branch's cases and default steps, compiled like the flow's own. */
  branch?: CompiledBranch;
  /** A forEach's items expression and steps. */
  loop?: CompiledLoop;
}

export interface CompiledLoop {
  items: CompiledExpression;
  steps: CompiledStep[];
  concurrency: number;
  maxItems: number;
  onItemError: 'stop' | 'continue';
}

export interface CompiledCase {
  /** The case's `id`, or its index when it has none: what the branch's output lists. */
  label: string | number;
  when: CompiledExpression;
  steps: CompiledStep[];
}

export interface CompiledBranch {
  mode: 'first' | 'all';
  cases: CompiledCase[];
  default: CompiledStep[];
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
  /** Steps that run once when the execution is about to end `failed` (API.md section 3, `onError`). */
  onError: CompiledStep[];
  /** Trigger `batch` with its key compiled: events gather into one execution (src/executions/batching). */
  batch?: CompiledBatch;
  /** `concurrency` with its key compiled: executions wait in line for a slot (src/executions/concurrency). */
  concurrency?: { limit: number; key?: CompiledExpression };
  /** Every step of the flow by id, nested and onError steps included. */
  byId: Map<string, CompiledStep>;
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
  // `batch` is common to several trigger types (src/executions/batching): checked on its own.
  const { rest, batch } = takeBatch(raw as Record<string, unknown>, errors);
  const { value, errors: e } = validateShape(dto, rest, 'trigger');
  errors.push(...e);
  if (type === 'webhook' && isObject(raw) && raw.verify !== undefined) {
    validateNestedByScheme(raw.verify, 'trigger.verify', VERIFY_DTO_BY_SCHEME, errors);
  }
  return (batch ? Object.assign(value, { batch }) : value) as TriggerDefinition;
}

/** Checks the shape of trigger, filter and steps; collects every problem instead of stopping at one. */
export function validateDefinition(raw: {
  trigger: unknown;
  filter?: unknown;
  steps: unknown;
  onError?: unknown;
  concurrency?: unknown;
}): {
  definition: FlowDefinition;
  errors: string[];
} {
  const errors: string[] = [];
  const trigger = validateTrigger(raw.trigger, errors);
  if (raw.filter !== undefined && raw.filter !== null && typeof raw.filter !== 'string')
    errors.push('filter must be a string');
  const walk: StepsWalk = { seen: new Set(), count: 0, errors };
  const steps = validateSteps(raw.steps, 'steps', 0, walk);
  let onError: FlowDefinition['onError'];
  if (raw.onError !== undefined && raw.onError !== null) {
    const { errors: e } = validateShape(OnErrorDto, raw.onError, 'onError');
    errors.push(...e);
    if (e.length === 0)
      onError = { steps: validateSteps((raw.onError as OnErrorDto).steps, 'onError.steps', 0, walk) };
  }
  let concurrency: FlowDefinition['concurrency'];
  if (raw.concurrency !== undefined && raw.concurrency !== null) {
    const { errors: e } = validateShape(ConcurrencyDto, raw.concurrency, 'concurrency');
    errors.push(...e);
    if (e.length === 0) {
      const { limit, key } = raw.concurrency as ConcurrencyDto;
      concurrency = { limit, ...(key !== undefined ? { key } : {}) };
    }
  }
  if (walk.count > MAX_STEPS)
    errors.push(`a flow holds at most ${MAX_STEPS} steps, nested ones included (this one: ${walk.count})`);
  if (trigger?.type === 'webhook' && trigger.response?.step !== undefined && Array.isArray(raw.steps)) {
    const target = trigger.response.step;
    if (!steps.some((s) => s.id === target))
      errors.push(`trigger.response.step "${target}" is not a step of this flow`);
  }
  const filter = typeof raw.filter === 'string' ? raw.filter : undefined;
  return {
    definition: {
      trigger,
      ...(filter !== undefined ? { filter } : {}),
      steps,
      ...(onError !== undefined ? { onError } : {}),
      ...(concurrency !== undefined ? { concurrency } : {}),
    },
    errors,
  };
}

function expression(source: string, path: string, errors: string[]): CompiledExpression | undefined {
  try {
    return compileExpression(source);
  } catch (e) {
    errors.push(`${path}: ${(e as ExpressionSyntaxError).message}`);
    return undefined;
  }
}

/** Compiles a list of steps and, below branches, theirs; collects errors by field path. */
function compileSteps(
  defs: FlowDefinition['steps'],
  path: string,
  errors: string[],
  byId: Map<string, CompiledStep>,
): CompiledStep[] {
  return defs.map((def, i) => {
    const at = `${path}[${i}]`;
    const handler = STEP_HANDLERS[def.type];
    let compiled: unknown;
    try {
      compiled = handler.compile(def, at);
    } catch (e) {
      if (e instanceof TemplateSyntaxError || e instanceof ExpressionSyntaxError) errors.push(e.message);
      else throw e;
    }
    const cond = def.if === undefined ? undefined : expression(def.if, `${at}.if`, errors);
    const step: CompiledStep = { def, handler, compiled, if: cond };
    if (def.type === 'branch') {
      const b = def as unknown as BranchStepDto;
      step.branch = {
        mode: b.mode ?? 'first',
        cases: (b.cases as unknown as BranchCaseDefinition[]).map((c, ci) => ({
          label: c.id ?? ci,
          // A case whose `when` does not parse is reported by expression(); it never runs (errors throw below).
          when: expression(c.when, `${at}.cases[${ci}].when`, errors) as CompiledExpression,
          steps: compileSteps(c.steps as FlowDefinition['steps'], `${at}.cases[${ci}].steps`, errors, byId),
        })),
        default: compileSteps((b.default ?? []) as FlowDefinition['steps'], `${at}.default`, errors, byId),
      };
    }
    if (def.type === 'forEach') {
      const f = def as unknown as ForEachStepDto;
      step.loop = {
        // Reported by expression() when it does not parse; the flow is then refused below.
        items: expression(f.items, `${at}.items`, errors) as CompiledExpression,
        steps: compileSteps(f.steps as FlowDefinition['steps'], `${at}.steps`, errors, byId),
        concurrency: f.concurrency ?? 1,
        maxItems: f.maxItems ?? FOR_EACH_DEFAULT_MAX_ITEMS,
        onItemError: f.onItemError ?? 'stop',
      };
    }
    byId.set(def.id, step);
    return step;
  });
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
  if (trigger.type === 'amqp' || trigger.type === 'mqtt' || trigger.type === 'nats') {
    if (trigger.idempotencyKey !== undefined)
      idempotencyKey = expression(trigger.idempotencyKey, 'trigger.idempotencyKey', errors);
  }
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
  let batch: CompiledBatch | undefined;
  if (trigger.type !== 'schedule' && trigger.batch) {
    const { maxItems, windowMs, key } = trigger.batch;
    batch = {
      maxItems,
      windowMs,
      key: key === undefined ? undefined : expression(key, 'trigger.batch.key', errors),
    };
  }
  const byId = new Map<string, CompiledStep>();
  const steps = compileSteps(definition.steps, 'steps', errors, byId);
  const onError = definition.onError
    ? compileSteps(definition.onError.steps, 'onError.steps', errors, byId)
    : [];
  const concurrency = definition.concurrency && {
    limit: definition.concurrency.limit,
    key:
      definition.concurrency.key === undefined
        ? undefined
        : expression(definition.concurrency.key, 'concurrency.key', errors),
  };
  if (errors.length > 0) throw new FlowDefinitionError(errors);
  return {
    ...meta,
    definition,
    filter,
    idempotencyKey,
    verify,
    batch,
    steps,
    onError,
    concurrency,
    byId,
  };
}
