import { createHash } from 'node:crypto';
import { unstorableReason } from 'src/common/jsonb';
import { ExpressionInput, isTruthy } from 'src/expressions/expression';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { CompiledFlow } from 'src/flows/flow-compiler';
import { maskSecrets } from 'src/secrets/secret-cipher';

/**
 * What a flow's routing expressions say about an event, the way every entry point (hook, run,
 * event, replay, dry run) needs it. `failure` is the execution's error when one of them failed;
 * `key` the stored idempotency key (when asked for and the expression gave one).
 */
export type Route =
  | { filtered: boolean; failure?: undefined; key?: string }
  | { filtered: false; failure: string; key?: string };

export interface RouteOptions {
  /** Evaluate `trigger.idempotencyKey` too (trigger URLs and their dry run). */
  idempotencyKey?: boolean;
}

/** The one input every expression of the flow sees (API.md section 3). */
export function expressionInput(
  flow: CompiledFlow,
  event: FlowEvent | null,
  executionId: string | null,
): ExpressionInput {
  return {
    event,
    steps: {},
    flow: { id: flow.id, name: flow.name, version: flow.version },
    execution: { id: executionId },
  };
}

/**
 * Evaluates the idempotency key (when asked), then the filter. An expression that fails on this
 * event is the flow author's problem, not the sender's: the event is kept as a failed execution
 * (visible, replayable once the flow is fixed) — never refused, and never run as if it had matched.
 */
export async function routeEvent(
  flow: CompiledFlow,
  event: FlowEvent,
  executionId: string | null,
  secrets: Record<string, string>,
  opts: RouteOptions = {},
): Promise<Route> {
  const keyExpression = opts.idempotencyKey ? flow.idempotencyKey : undefined;
  if (!flow.filter && !keyExpression) return { filtered: false };
  const input = expressionInput(flow, event, executionId);
  const bindings = { secrets };
  const failed = (what: string, e: unknown, key?: string): Route => ({
    filtered: false,
    failure: `${what} failed: ${maskSecrets((e as Error).message, Object.values(secrets))}`,
    key,
  });
  let key: string | undefined;
  if (keyExpression) {
    try {
      const value = await keyExpression.evaluate(input, bindings);
      if (value !== undefined && value !== null && value !== '') key = storedKey(value);
    } catch (e) {
      return failed('trigger.idempotencyKey', e);
    }
  }
  if (!flow.filter) return { filtered: false, key };
  try {
    return { filtered: !isTruthy(await flow.filter.evaluate(input, bindings)), key };
  } catch (e) {
    // The key still holds: a repeat of this event is a duplicate of the failed execution.
    return failed('filter', e, key);
  }
}

/**
 * The idempotency value as stored: the SHA-256 of its text (JSON for non-strings). Any length fits
 * the index, and a key built from a secret or from personal data is not kept in clear. A value that
 * is not valid Unicode is refused: its UTF-8 bytes would lose the bad character, and two different
 * values would share one key.
 */
function storedKey(value: unknown): string {
  const why = unstorableReason(value);
  if (why) throw new Error(why.replace(/^value /, 'the value '));
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return createHash('sha256').update(text).digest('base64url');
}
