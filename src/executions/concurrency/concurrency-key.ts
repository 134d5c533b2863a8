import { createHash } from 'node:crypto';
import { unstorableReason } from 'src/common/jsonb';
import { expressionInput } from 'src/executions/route-event';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { CompiledFlow } from 'src/flows/flow-compiler';
import { maskSecrets } from 'src/secrets/secret-cipher';

/** The group an execution of a flow with `concurrency` counts against, or why it could not be named. */
export type ConcurrencyGroup = { key: string; failure?: undefined } | { key?: undefined; failure: string };

/**
 * Evaluates `concurrency.key` at accept time, like the idempotency key: `<flow id>/<digest>`, the
 * SHA-256 of the value's text (JSON for non-strings) so any length fits the index and a key built
 * from personal data is not kept in clear. No key, or a value that is nothing (undefined, null, ""),
 * puts the execution in the flow's one shared group. An expression that fails on this event fails
 * the execution (its error names the field), as a failing filter does.
 */
export async function concurrencyGroup(
  flow: CompiledFlow,
  event: FlowEvent,
  executionId: string | null,
  secrets: Record<string, string>,
): Promise<ConcurrencyGroup> {
  const expression = flow.concurrency?.key;
  let text = '';
  if (expression) {
    try {
      const value = await expression.evaluate(expressionInput(flow, event, executionId), { secrets });
      if (value !== undefined && value !== null && value !== '') {
        const why = unstorableReason(value);
        if (why) throw new Error(why.replace(/^value /, 'the value '));
        text = typeof value === 'string' ? value : JSON.stringify(value);
      }
    } catch (e) {
      const message = maskSecrets((e as Error).message, Object.values(secrets));
      return { failure: `concurrency.key failed: ${message}` };
    }
  }
  return { key: `${flow.id}/${createHash('sha256').update(text).digest('base64url')}` };
}
