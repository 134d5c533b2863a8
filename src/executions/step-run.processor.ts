import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import { StepRunner } from 'src/executions/step-runner.service';
import { StepQueue } from 'src/queue/step-queue.service';

/**
 * The worker side of the steps queue (MODE=worker or all). Concurrency comes from
 * WORKER_CONCURRENCY, so the handler is attached here rather than with a decorator.
 */
@Injectable()
export class StepRunProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(StepRunProcessor.name);
  /** Jobs this process is running now, for the shutdown log lines. */
  private readonly active = new Set<string>();

  constructor(
    private readonly queue: StepQueue,
    private readonly runner: StepRunner,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.processRuns(this.config.values.WORKER_CONCURRENCY, async (job) => {
      const started = Date.now();
      this.active.add(job.id);
      try {
        await this.runner.run(job.data, job.id);
        this.logger.debug(
          {
            jobId: job.id,
            executionId: job.data.executionId,
            stepId: job.data.stepId,
            ms: Date.now() - started,
          },
          'job done',
        );
      } catch (e) {
        // Infrastructure trouble (PostgreSQL away): throw so that Bull tries the job again.
        this.logger.warn(
          { err: e, jobId: job.id, executionId: job.data.executionId, attempt: job.attempt },
          'job failed, will retry',
        );
        throw e;
      } finally {
        this.active.delete(job.id);
      }
    });
  }

  /**
   * SIGTERM: take no new jobs (a local pause; other workers go on), let running attempts finish for up
   * to SHUTDOWN_GRACE_MS, then let go. Runs before the HTTP server, the queue and the database close,
   * so finished attempts still commit. An attempt cut off keeps its Bull lock until JOB_LOCK_MS ends;
   * then another worker's stall check runs that attempt again, so nothing accepted is lost.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const graceMs = this.config.values.SHUTDOWN_GRACE_MS;
    await this.queue.pauseHere().catch(() => undefined);
    this.logger.log({ active: this.active.size, graceMs }, 'intake stopped; waiting for running attempts');
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.queue.whenCurrentJobsFinished().then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (drained) return;
    this.logger.warn(
      { active: [...this.active], graceMs },
      'grace period over; attempts still running will be run again by another worker',
    );
    // Without this, the queue's own shutdown hook would wait for those jobs without a bound.
    await this.queue.closeNow().catch(() => undefined);
  }
}
