import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { FlowEvent } from 'src/flows/definitions/flow-event';
import { FlowEntity } from 'src/flows/flow.entity';

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
export const ACTIVE_STATUSES: readonly ExecutionStatus[] = ['queued', 'running', 'waiting'];
export const FINAL_STATUSES: readonly ExecutionStatus[] = ['succeeded', 'failed', 'filtered', 'cancelled'];

export type StepStatus = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export interface AttemptRecord {
  n: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  request?: unknown;
  response?: unknown;
  error?: string;
}

/** A step's state inside its execution: kept in one jsonb map so a step costs no extra rows. */
export interface StepRecord {
  status: StepStatus;
  output?: unknown;
  error?: string;
  attempts: AttemptRecord[];
  /** When a waiting step (delay, back-off) is due. */
  resumeAt?: string;
  /** What a step held back by a destination waits for (API.md §10), e.g. "destination x: circuit open". */
  waitingFor?: string;
  /** When it began to wait for a destination (Redis time, ms): its place in line, kept across a Redis wipe. */
  waitingSince?: number;
  /** Stable per step and execution, sent as `webhook-id` on every attempt. */
  deliveryId?: string;
  /** A branch's chosen cases (indexes; -1 for `default`), fixed once chosen so a resume walks the same. */
  taken?: number[];
}

// Indexes with DESC keys or WHERE clauses live in the migrations; declared here unsynchronized so
// that `migration:generate` does not propose dropping them.
@Entity('executions')
@Index('executions_flow_id_idx', { synchronize: false })
@Index('executions_list_idx', { synchronize: false })
@Index('executions_active_idx', { synchronize: false })
@Index('executions_finished_idx', { synchronize: false })
@Index('executions_flow_finished_idx', { synchronize: false })
@Index('executions_status_list_idx', { synchronize: false })
@Index('executions_flow_status_list_idx', { synchronize: false })
@Index('executions_concurrency_queue_idx', { synchronize: false })
@Index('executions_concurrency_active_idx', { synchronize: false })
@Index('executions_batch_taking_idx', { synchronize: false })
@Index('executions_batch_due_idx', { synchronize: false })
export class ExecutionEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'flow_id' }) flowId!: string;
  @ManyToOne(() => FlowEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'flow_id', foreignKeyConstraintName: 'executions_flow_id_fkey' })
  flow?: FlowEntity;
  @Column('int', { name: 'flow_version' }) flowVersion!: number;
  @Column('text') status!: ExecutionStatus;
  @Column('jsonb') event!: FlowEvent;
  @Column('jsonb', { default: () => "'{}'" }) steps!: Record<string, StepRecord>;
  @Column('text', { nullable: true }) error!: string | null;
  /** Emit chain depth: 0 for a trigger, d+1 for a run started by an emit at depth d. */
  @Column('int', { default: 0 }) depth!: number;
  /** The Bull job that must exist while the execution is active; the reconciler rebuilds it. */
  @Column('text', { name: 'job_id', nullable: true }) jobId!: string | null;
  @Column('timestamptz', { name: 'run_at', nullable: true }) runAt!: Date | null;
  /** Flow-level `concurrency`: the group this execution counts against (src/executions/concurrency). */
  @Column('text', { name: 'concurrency_key', nullable: true }) concurrencyKey!: string | null;
  /** Its place in that group's line (a sequence): acceptance order. */
  @Column('bigint', { name: 'concurrency_seq', nullable: true }) concurrencySeq!: string | null;
  /** Trigger `batch`: the group this `batching` execution gathers events for (src/executions/batching). */
  @Column('text', { name: 'batch_key', nullable: true }) batchKey!: string | null;
  /** Its members so far. */
  @Column('int', { name: 'batch_count', nullable: true }) batchCount!: number | null;
  /** Its `maxItems`: a full group takes no more events and is being closed. */
  @Column('int', { name: 'batch_max', nullable: true }) batchMax!: number | null;
  /** When it closes by time (`windowMs` after its first event), or at once when it is full. */
  @Column('timestamptz', { name: 'batch_closes_at', nullable: true }) batchClosesAt!: Date | null;
  @Column('timestamptz', { name: 'created_at', default: () => 'now()' }) createdAt!: Date;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt!: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' }) updatedAt!: Date;
}
