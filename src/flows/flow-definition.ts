import type { StepBaseDto } from 'src/steps/step-base.dto';

/**
 * Trigger `batch` (API.md §3): events gathered per value of `key` into one execution, which starts
 * when the group holds `maxItems` events or `windowMs` after its first one (src/executions/batching).
 */
export interface BatchSettings {
  maxItems: number;
  windowMs: number;
  key?: string;
}

export interface WebhookTriggerDefinition {
  type: 'webhook';
  methods?: string[];
  verify?: Record<string, unknown> & { scheme: string };
  idempotencyKey?: string;
  response?: { mode: 'async' | 'sync'; timeoutMs?: number; step?: string };
  maxBody?: string | number;
  batch?: BatchSettings;
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
  batch?: BatchSettings;
}

/** Broker triggers (API.md §11): one event per message, acknowledged after its commit. */
export interface AmqpTriggerDefinition {
  type: 'amqp';
  url: string;
  queue: string;
  prefetch?: number;
  idempotencyKey?: string;
  batch?: BatchSettings;
}

export interface MqttTriggerDefinition {
  type: 'mqtt';
  url: string;
  topic: string;
  qos?: 0 | 1;
  username?: string;
  password?: string;
  idempotencyKey?: string;
  batch?: BatchSettings;
}

export interface NatsTriggerDefinition {
  type: 'nats';
  url: string;
  subject: string;
  stream?: string;
  durable?: string;
  idempotencyKey?: string;
  batch?: BatchSettings;
}

export type BrokerTriggerDefinition = AmqpTriggerDefinition | MqttTriggerDefinition | NatsTriggerDefinition;

export type TriggerDefinition =
  WebhookTriggerDefinition | ScheduleTriggerDefinition | EventTriggerDefinition | BrokerTriggerDefinition;

/** What a flow's version stores: everything but its name, description and state. */
export interface FlowDefinition {
  trigger: TriggerDefinition;
  filter?: string;
  steps: Array<StepBaseDto & Record<string, unknown>>;
  /** Steps that run once when an execution is about to end `failed`. */
  onError?: { steps: Array<StepBaseDto & Record<string, unknown>> };
  /** At most `limit` executions started and not final at a time, per value of `key` (JSONata) when given. */
  concurrency?: { limit: number; key?: string };
}
