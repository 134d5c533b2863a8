import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import { randomUUID } from 'node:crypto';
import { FlowEvent } from 'src/executions/execution.entity';
import { ExecutionRepository, NewExecution } from 'src/executions/execution.repository';
import { CompiledFlow } from 'src/flows/flow-compiler';
import { MetricsService } from 'src/metrics/metrics.service';
import { RUN_STEP_JOB, RunStepJob, STEPS_QUEUE, stepJobId, stepJobOptions } from 'src/queue/queue.constants';

/** Step id used in the job id of a flow without steps. */
const NO_STEP = '_';

export interface Launched {
  executionId: string;
  status: NewExecution['status'];
}

export interface LaunchOptions {
  filtered?: boolean;
  /** The event could not be routed (filter or idempotency key failed): stored as a failed execution. */
  failure?: string;
  depth?: number;
  executionId?: string;
  /** Launch only while this trigger token still leads to `flow` at its version (else TriggerChangedError). */
  triggerToken?: string;
}

/** The trigger token was rotated, or its flow disabled, deleted or changed, since it was looked up. */
export class TriggerChangedError extends Error {
  constructor() {
    super('the trigger changed while the event was being accepted');
  }
}

/**
 * Starts executions: commits the execution row (with the id of its first job), then enqueues that
 * job. Enqueues from concurrent launches are sent to Redis together. A job lost between commit and
 * enqueue (crash, Redis down) is re-added by the reconciler from the committed row.
 */
@Injectable()
export class ExecutionLauncher {
  private readonly logger = new Logger(ExecutionLauncher.name);
  private outbox: Array<{ name: string; data: RunStepJob; opts: ReturnType<typeof stepJobOptions> }> = [];
  private flushScheduled = false;
  private adding = false;

  constructor(
    private readonly executions: ExecutionRepository,
    private readonly metrics: MetricsService,
    @InjectQueue(STEPS_QUEUE) private readonly queue: Queue<RunStepJob>,
  ) {}

  /** Builds the id of a new execution; callers that must know it before the commit use this. */
  newId(): string {
    return randomUUID();
  }

  async launch(flow: CompiledFlow, event: FlowEvent, opts: LaunchOptions = {}): Promise<Launched> {
    const { row, firstStep } = this.newRow(flow, event, opts);
    if (!(await this.executions.insert(row))) throw new TriggerChangedError();
    this.dispatch(row, firstStep);
    return { executionId: row.id, status: row.status };
  }

  /**
   * Like launch, but at most once per (flow, key): the key and the execution are written in one
   * statement, so concurrent requests with one key make exactly one execution.
   */
  async launchOnce(
    flow: CompiledFlow,
    event: FlowEvent,
    key: string,
    opts: LaunchOptions = {},
  ): Promise<Launched & { duplicate: boolean }> {
    const { row, firstStep } = this.newRow(flow, event, opts);
    const first = await this.executions.insertOnce(row, key);
    if (first !== row.id) return { executionId: first, status: row.status, duplicate: true };
    this.dispatch(row, firstStep);
    return { executionId: row.id, status: row.status, duplicate: false };
  }

  private newRow(
    flow: CompiledFlow,
    event: FlowEvent,
    opts: LaunchOptions,
  ): { row: NewExecution; firstStep: string } {
    const id = opts.executionId ?? this.newId();
    const status = opts.failure !== undefined ? 'failed' : opts.filtered ? 'filtered' : 'queued';
    const firstStep = flow.steps[0]?.def.id ?? NO_STEP;
    return {
      firstStep,
      row: {
        id,
        flowId: flow.id,
        flowVersion: flow.version,
        status,
        error: opts.failure ?? null,
        event,
        depth: opts.depth ?? 0,
        jobId: status === 'queued' ? stepJobId(id, firstStep, 1) : null,
        createdAt: new Date(),
        triggerToken: opts.triggerToken,
      },
    };
  }

  /** After the commit: enqueue the first job, or count an execution that ended at birth. */
  private dispatch(row: NewExecution, firstStep: string): void {
    if (row.jobId) this.enqueue({ v: 1, executionId: row.id, stepId: firstStep }, row.jobId);
    else this.metrics.executionFinished(row.status);
  }

  /** Fire and forget: the row is committed, so a failed add only delays the run until the reconciler. */
  enqueue(data: RunStepJob, jobId: string, delayMs = 0): void {
    this.outbox.push({ name: RUN_STEP_JOB, data, opts: stepJobOptions(jobId, delayMs) });
    this.flush();
  }

  /**
   * One addBulk in flight: jobs enqueued meanwhile (and within the same tick) go to Redis together
   * in the next one — fewer round trips and server wake-ups, the same reasoning as Batcher.
   */
  private flush(): void {
    if (this.adding || this.flushScheduled || this.outbox.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const jobs = this.outbox;
      this.outbox = [];
      this.adding = true;
      this.queue
        .addBulk(jobs)
        .catch((e: unknown) => {
          this.logger.warn({ err: e, jobs: jobs.length }, 'enqueue failed; the reconciler will add the jobs');
        })
        .finally(() => {
          this.adding = false;
          this.flush();
        });
    });
  }
}
