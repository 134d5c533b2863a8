import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { BatchService, Joined } from 'src/executions/batching/batch.service';
import { routeEvent } from 'src/executions/route-event';
import { ExecutionLauncher } from 'src/executions/execution-launcher.service';
import { ExecutionRepository, NewExecution } from 'src/executions/execution.repository';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { CompiledFlow } from 'src/flows/flow-compiler';
import { MetricsService } from 'src/metrics/metrics.service';
import { firstStepOf, stepJobId } from 'src/queue/queue.constants';
import { SecretsService } from 'src/secrets/secrets.service';

/** An execution ready to be written: the row, and the job to add once it is committed. */
export interface PreparedRun {
  row: NewExecution;
  firstStep: string;
  /** Trigger `batch`: the event joins this group in the transaction instead of writing `row`. */
  batch?: { flow: CompiledFlow; key: string; joined?: Joined };
}

/**
 * Starts executions inside a caller's transaction, for starts that must be atomic with another write:
 * an event and its executions (idempotency), a schedule's fires and its next fire time (exactly once).
 * `prepare` evaluates the filter, `insert` writes in the transaction, `dispatch` enqueues after the
 * commit; a job lost in between is re-added by the reconciler from the committed row.
 */
@Injectable()
export class RunStarter {
  constructor(
    private readonly launcher: ExecutionLauncher,
    private readonly secrets: SecretsService,
    private readonly metrics: MetricsService,
    private readonly batches: BatchService,
    private readonly executions: ExecutionRepository,
  ) {}

  async prepare(flow: CompiledFlow, event: FlowEvent, depth: number): Promise<PreparedRun> {
    const id = this.launcher.newId();
    const route = await routeEvent(flow, event, id, await this.secrets.values());
    const firstStep = firstStepOf(flow);
    const createdAt = new Date();
    const run: PreparedRun = {
      firstStep,
      row: {
        id,
        flowId: flow.id,
        flowVersion: flow.version,
        status: route.failure !== undefined ? 'failed' : route.filtered ? 'filtered' : 'queued',
        error: route.failure ?? null,
        event,
        depth,
        jobId: route.failure === undefined && !route.filtered ? stepJobId(id, firstStep, 1) : null,
        createdAt,
      },
    };
    if (flow.batch && run.row.status === 'queued' && this.batches.joins(flow, event)) {
      const group = await this.batches.group(flow, event);
      if (group.failure === undefined) {
        run.batch = { flow, key: group.key };
        return run;
      }
      Object.assign(run.row, { status: 'failed', error: group.failure, jobId: null });
    }
    // A flow with `concurrency`: the run waits in line for a slot instead of getting a job now.
    if (flow.concurrency) await this.launcher.intoLine(flow, run.row);
    return run;
  }

  /** Writes the executions in the caller's transaction (same columns as ExecutionRepository.insert). */
  async insert(m: EntityManager, runs: PreparedRun[]): Promise<void> {
    await this.executions.insertIn(
      m,
      runs.filter((r) => !r.batch).map((r) => r.row),
    );
    // Joins lock their group's row until the commit: in the listeners' order, as every publisher does.
    for (const run of runs) {
      if (!run.batch) continue;
      const { flow, key } = run.batch;
      run.batch.joined = await this.batches.joinIn(m, {
        flow,
        event: run.row.event,
        key,
        depth: run.row.depth,
      });
      run.row.id = run.batch.joined.executionId;
    }
  }

  /** After the commit: enqueue the first job of each queued run; count the others as finished. */
  dispatch(runs: PreparedRun[]): void {
    for (const { row, firstStep, batch } of runs) {
      if (batch?.joined) {
        this.batches.afterCommit(batch.flow, batch.joined);
        if (!batch.joined.duplicate && batch.joined.full) this.launcher.closeFull(batch.joined.executionId);
      } else if (row.jobId)
        this.launcher.enqueue({ v: 1, executionId: row.id, stepId: firstStep }, row.jobId);
      else if (row.concurrencyKey && row.status === 'queued') this.launcher.admit(row.concurrencyKey);
      else this.metrics.executionFinished(row.status);
    }
  }
}
