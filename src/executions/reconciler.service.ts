import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import { BatchService } from 'src/executions/batching/batch.service';
import { ConcurrencyRepository } from 'src/executions/concurrency/concurrency.repository';
import { ExecutionLauncher } from 'src/executions/execution-launcher.service';
import { ExecutionRepository } from 'src/executions/execution.repository';
import { IterationRepository, keyText } from 'src/executions/loops/iteration.repository';
import { MetricsService } from 'src/metrics/metrics.service';
import { stepOfJobId } from 'src/queue/queue.constants';
import { StepQueue } from 'src/queue/step-queue.service';

const BATCH = 500;

/**
 * Re-adds jobs for committed work that has none: the process died between commit and enqueue, or
 * Redis lost its data (it keeps nothing on disk here). Every active execution names the job that
 * must exist (`job_id`, due at `run_at`); a missing one is added again with the same id. Running it
 * twice is harmless: the runner ignores any job that is not the execution's current one.
 */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconcilerService.name);
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly executions: ExecutionRepository,
    private readonly iterations: IterationRepository,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
    private readonly queue: StepQueue,
    private readonly lines: ConcurrencyRepository,
    private readonly launcher: ExecutionLauncher,
    private readonly batches: BatchService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.values.RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass; returns how many jobs were re-added. */
  async sweep(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let added = 0;
    let items = 0;
    try {
      items = (await this.sweepItems()) + (await this.sweepLines()) + (await this.sweepBatches());
      const stale = await this.executions.stale(this.config.values.RECONCILE_AFTER_MS, BATCH);
      if (stale.length === 0) return items;
      const gone = await this.queue.absent(stale.flatMap((ex) => (ex.jobId ? [ex.jobId] : [])));
      const absent = stale.filter((ex) => ex.jobId && gone.has(ex.jobId));
      // A job that finished between the SELECT and EXISTS is gone too, but its step's progress
      // (a new job id, or a final status) was committed before the job completed: look again.
      const current = await this.executions.currentJobIds(absent.map((ex) => ex.id));
      const missing = absent.filter((ex) => current.get(ex.id) === ex.jobId);
      for (const ex of missing) {
        const jobId = ex.jobId as string;
        const delay = ex.runAt ? Math.max(0, ex.runAt.getTime() - Date.now()) : 0;
        await this.queue.add({ v: 1, executionId: ex.id, stepId: stepOfJobId(jobId) }, jobId, delay);
        added++;
      }
      await this.executions.touch(stale.map((ex) => ex.id));
      if (added > 0) {
        this.metrics.reconciled.inc(added);
        this.logger.warn({ added }, 're-added jobs for committed work that had none');
      }
    } catch (e) {
      this.logger.warn({ err: e }, 'reconciler pass failed; next pass will try again');
    } finally {
      this.running = false;
    }
    return added + items;
  }

  /**
   * Flow-level `concurrency`: a slot freed by a process that stopped (or failed to claim) before it
   * started the next execution in line. Claims for a key take turns under its lock, so this pass and
   * a live claim never over-fill it.
   */
  private async sweepLines(): Promise<number> {
    let started = 0;
    for (const key of await this.lines.stalledKeys(this.config.values.RECONCILE_AFTER_MS, BATCH)) {
      for (const s of await this.lines.claim(key)) {
        this.launcher.enqueue({ v: 1, executionId: s.executionId, stepId: s.stepId }, s.jobId);
        started++;
      }
    }
    if (started > 0) {
      this.metrics.reconciled.inc(started);
      this.logger.warn({ started }, 'started executions that waited in line with a free slot');
    }
    return started;
  }

  /**
   * Trigger `batch` groups whose time ran out a while ago and are still open: their delayed close job
   * was lost (Redis wiped) or kept failing. The close is conditional, so racing the job is harmless.
   */
  private async sweepBatches(): Promise<number> {
    let closed = 0;
    for (const id of await this.batches.overdue(this.config.values.RECONCILE_AFTER_MS, BATCH)) {
      const c = await this.batches.close(id);
      if (!c) continue;
      this.launcher.started(c);
      closed++;
    }
    if (closed > 0) {
      this.metrics.reconciled.inc(closed);
      this.logger.warn({ closed }, 'closed batch groups whose close job had not run');
    }
    return closed;
  }

  /** The same for the items of forEach loops: every item with a job names it in its row. */
  private async sweepItems(): Promise<number> {
    const stale = await this.iterations.stale(this.config.values.RECONCILE_AFTER_MS, BATCH);
    if (stale.length === 0) return 0;
    const gone = await this.queue.absent(stale.map((it) => it.jobId));
    const absent = stale.filter((it) => gone.has(it.jobId));
    const current = await this.iterations.currentJobIds(absent);
    let added = 0;
    for (const it of absent.filter((a) => current.get(keyText(a)) === a.jobId)) {
      const delay = it.runAt ? Math.max(0, it.runAt.getTime() - Date.now()) : 0;
      await this.queue.add(
        {
          v: 1,
          executionId: it.executionId,
          stepId: stepOfJobId(it.jobId),
          item: { loop: it.loop, idx: it.idx },
        },
        it.jobId,
        delay,
      );
      added++;
    }
    await this.iterations.touch(stale);
    if (added > 0) {
      this.metrics.reconciled.inc(added);
      this.logger.warn({ added }, 're-added jobs of forEach items that had none');
    }
    return added;
  }
}
