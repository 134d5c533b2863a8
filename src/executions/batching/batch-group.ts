import { createHash } from 'node:crypto';
import { unstorableReason } from 'src/common/jsonb';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { BATCH_TRIGGER_TYPES, CompiledBatch } from 'src/flows/definitions/trigger-batch';
import { maskSecrets } from 'src/secrets/secret-cipher';

/** The event types those triggers make: a replayed `batch` event or a manual run is never batched again. */
const BATCHED_EVENT_TYPES: ReadonlySet<string> = new Set(BATCH_TRIGGER_TYPES);

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
