import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { BatchService } from 'src/executions/batching/batch.service';
import { ExecutionLauncher } from 'src/executions/execution-launcher.service';
import { StepQueue } from 'src/queue/step-queue.service';

/** Close jobs run at once per worker process: each is one short transaction. */
const CLOSE_CONCURRENCY = 2;

/**
 * The worker side of trigger `batch` (MODE=worker or all): a group's delayed close job, due
 * `windowMs` after its first event. A group that closed already (full, or by another process) is
 * left alone; a failure throws, so Bull tries again (and the reconciler sweeps what is left).
 */
@Injectable()
export class BatchCloseProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(BatchCloseProcessor.name);

  constructor(
    private readonly queue: StepQueue,
    private readonly batches: BatchService,
    private readonly launcher: ExecutionLauncher,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.processBatchCloses(CLOSE_CONCURRENCY, async (job) => {
      const closed = await this.batches.close(job.data.executionId);
      if (!closed) return;
      this.launcher.started(closed);
      this.logger.debug({ executionId: closed.executionId, status: closed.status }, 'batch closed by time');
    });
  }
}
