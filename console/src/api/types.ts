// Shapes of the public REST API (API.md section 2), as the console reads them.

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type TriggerType = 'webhook' | 'schedule' | 'event';
export type StepType = 'transform' | 'http' | 'slack' | 'delay' | 'emit';

/** `onError` of a definition (`{steps: [...]}`), passed through as the API gives it. */
export type OnErrorDefinition = Record<string, unknown>;

/** A stored flow definition: trigger, filter and steps, as the API takes and gives them. */
export interface FlowDefinition {
  trigger: Record<string, unknown> & { type: string };
  filter?: string;
  steps: Array<Record<string, unknown>>;
  onError?: OnErrorDefinition;
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
  'batching',
  'queued',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'filtered',
  'cancelled',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
// `batching`: a trigger batch still gathering events (it starts when full or when its window ends).
export const ACTIVE_STATUSES: readonly string[] = ['batching', 'queued', 'running', 'waiting'];

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
  /** Why a waiting step is held back: `destination partner-api: circuit open`. */
  waitingFor?: string;
  attempts: Attempt[];
  /** A branch: the records of the steps of the cases that ran. */
  steps?: ExecutionStep[];
  /** A forEach: its items counted by state (the items are paged by /iterations). */
  iterations?: IterationCounts;
}

export const ITERATION_STATUSES = [
  'pending',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'cancelled',
] as const;

export interface IterationCounts {
  total: number;
  pending: number;
  running: number;
  waiting?: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

/** One item of a forEach (`GET /executions/{id}/iterations`). */
export interface Iteration {
  index: number;
  status: string;
  item: unknown;
  output?: unknown;
  error?: string;
  steps: ExecutionStep[];
}

export interface Execution extends ExecutionSummary {
  event: Record<string, unknown>;
  steps: ExecutionStep[];
  onError?: ExecutionStep[];
}

export type BulkAction = 'retry' | 'replay' | 'cancel';

export interface BulkFilter {
  flowId?: string;
  status?: string[];
  from?: string;
  to?: string;
  stepId?: string;
  error?: string;
}

/** A bulk operation (`GET /operations/{id}`). */
export interface Operation {
  id: string;
  action: BulkAction;
  filter: BulkFilter;
  status: 'running' | 'done' | 'cancelled';
  matched: number;
  done: number;
  failed: number;
  createdAt: string;
  finishedAt?: string;
}

export interface DestinationState {
  circuit: 'closed' | 'open' | 'half-open';
  openedAt?: string;
  inFlight: number;
  waiting: number;
}

export interface DestinationBody {
  match: string[];
  rateLimit?: { max: number; perMs: number };
  concurrency?: number;
  circuitBreaker?: { failures: number; cooldownMs: number };
}

export interface Destination extends DestinationBody {
  name: string;
  createdAt: string;
  updatedAt: string;
  state?: DestinationState;
}

export interface DryRunStep {
  id: string;
  status: 'would_run' | 'skipped' | 'error';
  request?: unknown;
  output?: unknown;
  reason?: string;
  error?: string;
  /** A branch: the previews of the steps of the cases it would run. */
  steps?: DryRunStep[];
  /** A forEach: its number of items and the previews of the first 10. */
  total?: number;
  iterations?: Array<{ index: number; item: unknown; steps: DryRunStep[] }>;
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

/** One bucket of `GET /flows/{id}/stats`: runs that finished in it, by status, and their p50/p95 durations. */
export interface StatsBucket {
  at: string;
  succeeded: number;
  failed: number;
  filtered: number;
  cancelled: number;
  p50Ms: number | null;
  p95Ms: number | null;
}
