import type { ExpressionBindings, ExpressionInput } from 'src/expressions/expression';
import type { StepBaseDto } from 'src/steps/step-base.dto';
import type { EventPublisher } from 'src/steps/event-publisher';
import type { OutboundHttp } from 'src/steps/outbound/http-client';
import type { OutboundConnections } from 'src/steps/connections/outbound-connections';

// Step types throw this; it lives apart so that connections/ can throw it without importing this file.
export { StepFailure } from 'src/steps/step-failure';

/** DI token for the StepServices the runner hands to handlers. */
export const STEP_SERVICES = Symbol('STEP_SERVICES');

/** What a step's run needs from the world; handlers get it from the runner, not from DI. */
export interface StepServices {
  http: OutboundHttp;
  slackApiUrl: string;
  /** The event bus, for `emit` steps (src/events). */
  events?: EventPublisher;
  /** Pooled broker, database and mail connections (amqp, mqtt, nats, sql, email steps). */
  connections?: OutboundConnections;
}

/** What a dry run shows for a step: the request it would send, or the output it would give. */
export interface StepPreview {
  request?: unknown;
  output?: unknown;
}

export interface StepRunContext {
  input: ExpressionInput;
  bindings: ExpressionBindings;
  executionId: string;
  flowId: string;
  stepId: string;
  /** 1 for the first try. */
  attempt: number;
  depth: number;
  /** Same on every attempt of this step in this execution (`webhook-id`). */
  deliveryId: string;
  /** Set when a waiting step (delay) is resumed. */
  resumeAt?: string;
  services: StepServices;
}

/** What a dry run gives a preview: the run's input, and the settings a run would render with. */
export type PreviewContext = Pick<StepRunContext, 'input' | 'bindings' | 'depth'> & {
  services: Pick<StepServices, 'slackApiUrl'>;
};

/** Where an attempt goes, known before it is made: what destinations match (API.md §10). */
export interface StepTarget {
  url: URL;
  /** Slack: the channel or incoming webhook, paced on its own unless a destination covers it. */
  pace?: string;
}

export type StepOutcome =
  | { kind: 'succeeded'; output: unknown; request?: unknown; response?: unknown }
  /** Come back at `until` (delay steps); no worker is held meanwhile. */
  | { kind: 'wait'; until: Date };

/**
 * One step type. `compile` runs when a flow is saved (syntax errors name the field path) and its
 * result is cached per flow version; `run` runs one attempt.
 */
export interface StepHandler<D extends StepBaseDto = StepBaseDto, C = unknown> {
  readonly type: string;
  readonly dto: new () => D;
  /** Pure steps touch nothing outside and may run inside a neighbouring step's job. */
  readonly pure: boolean;
  /** Paced even where no destination covers it (Slack, API.md §10): `target` is asked every attempt. */
  readonly paced?: boolean;
  /** Default `retry.attempts`. */
  readonly defaultAttempts: number;
  compile(def: D, path: string): C;
  run(compiled: C, def: D, ctx: StepRunContext): Promise<StepOutcome>;
  /** Renders only the target of the next attempt (its URL), for the destination limiter. */
  target?(
    compiled: C,
    def: D,
    ctx: Pick<StepRunContext, 'input' | 'bindings' | 'services'>,
  ): Promise<StepTarget>;
  /** Dry run (`POST /flows/{id}/test`): renders what `run` would do without doing it. */
  preview?(compiled: C, def: D, ctx: PreviewContext): Promise<StepPreview>;
}
