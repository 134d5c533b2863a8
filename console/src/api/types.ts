// Shapes of the public REST API (API.md section 2), as the console reads them.

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type TriggerType = 'webhook' | 'schedule' | 'event';
export type StepType = 'transform' | 'http' | 'slack' | 'delay' | 'emit';

/** A stored flow definition: trigger, filter and steps, as the API takes and gives them. */
export interface FlowDefinition {
  trigger: Record<string, unknown> & { type: string };
  filter?: string;
  steps: Array<Record<string, unknown>>;
}

export interface Flow extends FlowDefinition {
  id: string;
  name: string;
  description?: string;
  enabled: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
  trigger: Record<string, unknown> & { type: string; token?: string; url?: string };
}

export interface FlowVersion extends FlowDefinition {
  version: number;
  name: string;
  description?: string;
  createdAt: string;
}

export const EXECUTION_STATUSES = [
  'queued',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'filtered',
  'cancelled',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const ACTIVE_STATUSES: readonly string[] = ['queued', 'running', 'waiting'];

export interface ExecutionSummary {
  id: string;
  flowId: string;
  flowVersion: number;
  status: ExecutionStatus;
  error?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface Attempt {
  n: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  request?: unknown;
  response?: unknown;
  error?: string;
}

export interface ExecutionStep {
  id: string;
  type: string;
  name?: string;
  status: string;
  output?: unknown;
  error?: string;
  resumeAt?: string;
  attempts: Attempt[];
}

export interface Execution extends ExecutionSummary {
  event: Record<string, unknown>;
  steps: ExecutionStep[];
}

export interface DryRunStep {
  id: string;
  status: 'would_run' | 'skipped' | 'error';
  request?: unknown;
  output?: unknown;
  reason?: string;
  error?: string;
}

export interface DryRunResult {
  filter: { matched: boolean; error?: string };
  steps: DryRunStep[];
}

export interface Secret {
  name: string;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKey {
  id: string;
  name: string;
  createdAt: string;
  revokedAt?: string;
}

export interface CreatedApiKey extends ApiKey {
  key: string;
}
