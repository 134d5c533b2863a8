import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { validateShape } from 'src/common/validate-shape';
import { CompiledExpression } from 'src/expressions/expression';
import { BatchSettings } from 'src/flows/flow-definition';

/** The triggers whose events can be batched (API.md §3): not schedules, whose fires are one each. */
export const BATCH_TRIGGER_TYPES: readonly string[] = ['webhook', 'event', 'amqp', 'mqtt', 'nats'];

export const BATCH_MAX_ITEMS = 1000;
export const BATCH_MAX_WINDOW_MS = 3_600_000;

/** `trigger.batch: {"maxItems": 2–1000, "windowMs": 100–3600000, "key"?: JSONata}`. */
export class BatchDto {
  @IsInt() @Min(2) @Max(BATCH_MAX_ITEMS) maxItems!: number;
  @IsInt() @Min(100) @Max(BATCH_MAX_WINDOW_MS) windowMs!: number;
  @IsOptional() @IsString() @MaxLength(10_000) key?: string;
}

/** `batch` with its key compiled: what the accept path uses (CompiledFlow.batch). */
export interface CompiledBatch {
  maxItems: number;
  windowMs: number;
  key?: CompiledExpression;
}

/**
 * Takes `batch` out of a raw trigger (the trigger type's own DTO does not list it) and checks it;
 * every problem names its field. Returns the trigger without it and the settings when valid.
 */
export function takeBatch(
  raw: Record<string, unknown>,
  errors: string[],
): { rest: Record<string, unknown>; batch?: BatchSettings } {
  if (!('batch' in raw)) return { rest: raw };
  const { batch: given, ...rest } = raw;
  if (given === undefined || given === null) return { rest };
  if (!BATCH_TRIGGER_TYPES.includes(String(raw.type))) {
    errors.push(
      `trigger.batch is not available on a ${String(raw.type)} trigger (only on ${BATCH_TRIGGER_TYPES.join(', ')})`,
    );
    return { rest };
  }
  const { errors: e } = validateShape(BatchDto, given, 'trigger.batch');
  errors.push(...e);
  const response = rest.response as { mode?: unknown } | undefined;
  if (raw.type === 'webhook' && response?.mode === 'sync')
    errors.push(
      'trigger.batch cannot be used with trigger.response.mode "sync": a batched event is answered before its execution runs',
    );
  if (e.length > 0) return { rest };
  const { maxItems, windowMs, key } = given as BatchDto;
  return { rest, batch: { maxItems, windowMs, ...(key !== undefined ? { key } : {}) } };
}
