import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { createHash } from 'node:crypto';
import { unstorableReason } from 'src/common/jsonb';
import { validateShape } from 'src/common/validate-shape';
import { FlowEvent } from 'src/executions/execution.entity';
import { CompiledExpression } from 'src/expressions/expression';
import { BatchSettings } from 'src/flows/flow-definition';
import { maskSecrets } from 'src/secrets/secret-cipher';

/** The triggers whose events can be batched (API.md §3): not schedules, whose fires are one each. */
export const BATCH_TRIGGER_TYPES: readonly string[] = ['webhook', 'event', 'amqp', 'mqtt', 'nats'];
/** The event types those triggers make: a replayed `batch` event or a manual run is never batched again. */
const BATCHED_EVENT_TYPES: ReadonlySet<string> = new Set(BATCH_TRIGGER_TYPES);

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

/** True when this event, accepted for a flow with `batch`, joins a group rather than running alone. */
export function joinsBatch(batch: CompiledBatch | undefined, event: FlowEvent): boolean {
  return batch !== undefined && BATCHED_EVENT_TYPES.has(event.type);
}

/** The group an event joins, or why it could not be named (the event is then kept as a failed execution). */
export type BatchGroup = { key: string; failure?: undefined } | { key?: undefined; failure: string };

/**
 * Evaluates `batch.key` on one event: `<flow id>/<version>/<digest>`, the SHA-256 of the value's text
 * (JSON for non-strings), as concurrency keys are. No key, or a value that is nothing (undefined,
 * null, ""), is the flow's one group. The version is part of the name: an edited flow starts new
 * groups, and a group runs with the version its events were accepted by.
 */
export async function batchGroup(
  flow: { id: string; name: string; version: number; batch?: CompiledBatch },
  event: FlowEvent,
  secrets: Record<string, string>,
): Promise<BatchGroup> {
  const expression = flow.batch?.key;
  let text = '';
  if (expression) {
    try {
      const input = {
        event,
        steps: {},
        flow: { id: flow.id, name: flow.name, version: flow.version },
        execution: { id: null },
      };
      const value = await expression.evaluate(input, { secrets });
      if (value !== undefined && value !== null && value !== '') {
        const why = unstorableReason(value);
        if (why) throw new Error(why.replace(/^value /, 'the value '));
        text = typeof value === 'string' ? value : JSON.stringify(value);
      }
    } catch (e) {
      return {
        failure: `trigger.batch.key failed: ${maskSecrets((e as Error).message, Object.values(secrets))}`,
      };
    }
  }
  return { key: `${flow.id}/${flow.version}/${createHash('sha256').update(text).digest('base64url')}` };
}

/** The execution's event once its group closed (API.md §3): the members' bodies and events, in arrival order. */
export function batchEvent(envelope: FlowEvent, members: FlowEvent[]): FlowEvent {
  return {
    id: envelope.id,
    type: 'batch',
    receivedAt: members[0]?.receivedAt ?? envelope.receivedAt,
    body: members.map((m) => m.body),
    events: members,
  };
}
