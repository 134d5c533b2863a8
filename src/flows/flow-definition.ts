import type { StepBaseDto } from 'src/steps/step-base.dto';

export interface WebhookTriggerDefinition {
  type: 'webhook';
  methods?: string[];
  verify?: Record<string, unknown> & { scheme: string };
  idempotencyKey?: string;
  response?: { mode: 'async' | 'sync'; timeoutMs?: number; step?: string };
  maxBody?: string | number;
}

export interface ScheduleTriggerDefinition {
  type: 'schedule';
  cron: string;
  timezone?: string;
  payload?: unknown;
}

export interface EventTriggerDefinition {
  type: 'event';
  event: string;
}

export type TriggerDefinition = WebhookTriggerDefinition | ScheduleTriggerDefinition | EventTriggerDefinition;

/** What a flow's version stores: everything but its name, description and state. */
export interface FlowDefinition {
  trigger: TriggerDefinition;
  filter?: string;
  steps: Array<StepBaseDto & Record<string, unknown>>;
  /** Steps that run once when an execution is about to end `failed`. */
  onError?: { steps: Array<StepBaseDto & Record<string, unknown>> };
}
