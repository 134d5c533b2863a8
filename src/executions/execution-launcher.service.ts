import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { BatchService, ClosedBatch } from 'src/executions/batching/batch.service';
import { concurrencyGroup } from 'src/executions/concurrency/concurrency-key';
import { ConcurrencyRepository } from 'src/executions/concurrency/concurrency.repository';
import { ExecutionRepository, NewExecution } from 'src/executions/execution.repository';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { CompiledFlow } from 'src/flows/flow-compiler';
import { MetricsService } from 'src/metrics/metrics.service';
import { firstStepOf, RunStepJob, stepJobId } from 'src/queue/queue.constants';
import { StepQueue } from 'src/queue/step-queue.service';
import { SecretsService } from 'src/secrets/secrets.service';

export interface Launched {
  executionId: string;
  /** `batching`: the event joined its trigger `batch` group, whose one execution has this id. */
  status: NewExecution['status'] | 'batching';
}

export interface LaunchOptions {
  filtered?: boolean;
  /** The event could not be routed (filter or idempotency key failed): stored as a failed execution. */
  failure?: string;
  depth?: number;
  executionId?: string;
  /** Launch only while this trigger token still leads to `flow` at its version (else TriggerChangedError). */
  triggerToken?: string;
  /** Run alone even when the flow has a trigger `batch` (a replay: its execution id is chosen first). */
  alone?: boolean;
}

/** Goes on to run (so may join a batch): not filtered, its filter and idempotency key did not fail. */
function routed(opts: LaunchOptions): boolean {
  return !opts.alone && !opts.filtered && opts.failure === undefined;
}

/** The trigger token was rotated, or its flow disabled, deleted or changed, since it was looked up. */
export class TriggerChangedError extends Error {
  constructor() {
    super('the trigger changed while the event was being accepted');
  }
}

/**
 * Starts executions: commits the execution row (with the id of its first job), then enqueues that
 * job (StepQueue sends the enqueues of concurrent launches to Redis together). A job lost between
 * commit and enqueue (crash, Redis down) is re-added by the reconciler from the committed row.
 */
@Injectable()
export class ExecutionLauncher {
  private readonly logger = new Logger(ExecutionLauncher.name);
  /** Concurrency keys with a claim in flight, and whether another was asked for meanwhile. */
  private readonly admitting = new Map<string, { again: boolean }>();

  constructor(
    private readonly executions: ExecutionRepository,
    private readonly metrics: MetricsService,
    private readonly queue: StepQueue,
    private readonly lines: ConcurrencyRepository,
    private readonly secrets: SecretsService,
    private readonly batches: BatchService,
  ) {}

  /** Builds the id of a new execution; callers that must know it before the commit use this. */
  newId(): string {
    return randomUUID();
  }

  async launch(flow: CompiledFlow, event: FlowEvent, opts: LaunchOptions = {}): Promise<Launched> {
    if (flow.batch && this.batches.joins(flow, event) && routed(opts)) {
      const batched = await this.intoBatch(flow, event, opts);
      if (batched.launched) return batched.launched;
      opts = batched.opts;
    }
    const { row, firstStep } = this.newRow(flow, event, opts);
    if (flow.concurrency) await this.intoLine(flow, row);
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
    if (flow.batch && this.batches.joins(flow, event) && routed(opts)) {
      const batched = await this.intoBatch(flow, event, opts, key);
      if (batched.launched) return batched.launched;
      opts = batched.opts;
    }
    const { row, firstStep } = this.newRow(flow, event, opts);
    if (flow.concurrency) await this.intoLine(flow, row);
    const first = await this.executions.insertOnce(row, key);
    if (first !== row.id) return { executionId: first, status: row.status, duplicate: true };
    this.dispatch(row, firstStep);
    return { executionId: row.id, status: row.status, duplicate: false };
  }

  /**
   * Trigger `batch` (src/executions/batching): the event joins its group (stored before this returns)
   * and is answered with the group's execution; an event whose `batch.key` fails comes back as the
   * options of a failed execution of its own, like a failing filter.
   */
  private async intoBatch(
    flow: CompiledFlow,
    event: FlowEvent,
    opts: LaunchOptions,
    idempotencyKey?: string,
  ): Promise<
    | { launched: Launched & { duplicate: boolean }; opts?: undefined }
    | { launched?: undefined; opts: LaunchOptions }
  > {
    const group = await this.batches.group(flow, event);
    if (group.failure !== undefined) return { opts: { ...opts, failure: group.failure } };
    const joined = await this.batches.accept({
      flow,
      event,
      key: group.key,
      depth: opts.depth ?? 0,
      idempotencyKey,
    });
    if (!joined.duplicate && joined.full) this.closeFull(joined.executionId);
    return { launched: { executionId: joined.executionId, status: 'batching', duplicate: joined.duplicate } };
  }

  /**
   * A batch group that an event filled: closed now, after that event's commit. Its answer does not
   * wait: the event is stored, and should this close fail the reconciler closes the group (it is due).
   */
  closeFull(executionId: string): void {
    this.batches
      .close(executionId)
      .then((closed) => closed && this.started(closed))
      .catch((err: unknown) =>
        this.logger.warn({ err, executionId }, 'full batch not closed; the reconciler will close it'),
      );
  }

  /** After a batch group's close committed: its first job, a claim for a slot, or a failure counted. */
  started(closed: ClosedBatch): void {
    if (closed.jobId)
      this.enqueue({ v: 1, executionId: closed.executionId, stepId: closed.firstStep }, closed.jobId);
    else if (closed.concurrencyKey) this.admit(closed.concurrencyKey);
    else this.metrics.executionFinished(closed.status);
  }

  private newRow(
    flow: CompiledFlow,
    event: FlowEvent,
    opts: LaunchOptions,
  ): { row: NewExecution; firstStep: string } {
    const id = opts.executionId ?? this.newId();
    const status = opts.failure !== undefined ? 'failed' : opts.filtered ? 'filtered' : 'queued';
    const firstStep = firstStepOf(flow);
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

  /**
   * Flow-level `concurrency` (API.md section 3): a queued execution gets its group and no job — it
   * waits in line until admit() gives it one. A key that cannot be evaluated fails it, like a filter.
   * Used by every way in (RunStarter.prepare too); a flow without `concurrency` never comes here.
   */
  async intoLine(flow: CompiledFlow, row: NewExecution): Promise<void> {
    if (!flow.concurrency || row.status !== 'queued') return;
    const secrets = flow.concurrency.key ? await this.secrets.values() : {};
    const group = await concurrencyGroup(flow, row.event, row.id, secrets);
    if (group.failure !== undefined) {
      Object.assign(row, { status: 'failed', error: group.failure, jobId: null });
      return;
    }
    row.concurrencyKey = group.key;
    row.jobId = null;
  }

  /** After the commit: enqueue the first job (or ask for a slot), or count an execution that ended at birth. */
  dispatch(row: NewExecution, firstStep: string): void {
    if (row.jobId) this.enqueue({ v: 1, executionId: row.id, stepId: firstStep }, row.jobId);
    else if (row.concurrencyKey && row.status === 'queued') this.admit(row.concurrencyKey);
    else this.metrics.executionFinished(row.status);
  }

  /**
   * Starts the oldest executions waiting in line for `key` while it has room (after an execution
   * joined the line, or one of its group ended or was cancelled), adding their jobs after the claim
   * committed. Claims for one key do not overlap in this process: asks that come while one is in
   * flight are served by one more claim after it. A claim lost to a crash or an error is made by the
   * reconciler's pass (ConcurrencyRepository.stalledKeys).
   */
  admit(key: string): void {
    const inFlight = this.admitting.get(key);
    if (inFlight) {
      inFlight.again = true;
      return;
    }
    const state = { again: false };
    this.admitting.set(key, state);
    const run = async (): Promise<void> => {
      try {
        do {
          state.again = false;
          for (const s of await this.lines.claim(key)) {
            this.enqueue({ v: 1, executionId: s.executionId, stepId: s.stepId }, s.jobId);
          }
        } while (state.again);
      } finally {
        // In the same tick as the last `again` check: an ask from now on starts a claim of its own.
        this.admitting.delete(key);
      }
    };
    run().catch((e: unknown) => this.logger.warn({ err: e, key }, 'claim failed; the reconciler will claim'));
  }

  /** Fire and forget: the row is committed, so a failed add only delays the run until the reconciler. */
  enqueue(data: RunStepJob, jobId: string, delayMs = 0): void {
    this.queue.enqueue(data, jobId, delayMs);
  }
}
