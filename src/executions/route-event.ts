import { isTruthy } from 'src/expressions/expression';
import { FlowEvent } from 'src/executions/execution.entity';
import { CompiledFlow } from 'src/flows/flow-compiler';
import { maskSecrets } from 'src/secrets/secret-cipher';

/** What a flow's filter says about an event, the way every entry point (hook, run, event, replay) needs it. */
export type Route = { filtered: boolean; failure?: undefined } | { filtered: false; failure: string };

/**
 * Evaluates the flow's filter. A filter that fails on this event is the flow author's problem, not
 * the sender's: the event is kept as a failed execution (visible, replayable once the flow is
 * fixed) — never refused, and never run as if it had matched.
 */
export async function routeEvent(
  flow: CompiledFlow,
  event: FlowEvent,
  executionId: string,
  secrets: Record<string, string>,
): Promise<Route> {
  if (!flow.filter) return { filtered: false };
  const input = {
    event,
    steps: {},
    flow: { id: flow.id, name: flow.name, version: flow.version },
    execution: { id: executionId },
  };
  try {
    return { filtered: !isTruthy(await flow.filter.evaluate(input, { secrets })) };
  } catch (e) {
    return {
      filtered: false,
      failure: `filter failed: ${maskSecrets((e as Error).message, Object.values(secrets))}`,
    };
  }
}
