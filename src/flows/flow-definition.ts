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

/** Broker triggers (API.md §11): one event per message, acknowledged after its commit. */
export interface AmqpTriggerDefinition {
  type: 'amqp';
  url: string;
  queue: string;
  prefetch?: number;
  idempotencyKey?: string;
}

export interface MqttTriggerDefinition {
  type: 'mqtt';
  url: string;
  topic: string;
  qos?: 0 | 1;
  username?: string;
  password?: string;
  idempotencyKey?: string;
}

export interface NatsTriggerDefinition {
  type: 'nats';
  url: string;
  subject: string;
  stream?: string;
  durable?: string;
  idempotencyKey?: string;
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
