import { InjectQueue } from '@nestjs/bull';
import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bull';
import { Gauge } from 'prom-client';
import { AppConfig } from 'src/config/app-config';
import { MetricsService } from 'src/metrics/metrics.service';
import { STEPS_QUEUE } from 'src/queue/queue.constants';

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** Queue depth read from Redis at scrape time, so every process reports the shared queue. */
@Injectable()
export class QueueMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    @InjectQueue(STEPS_QUEUE) private readonly queue: Queue,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    if (this.config.values.workerThread) return; // the main thread reports the shared queue
    const queue = this.queue;
    new Gauge({
      name: 'hookflow_queue_jobs',
      help: 'Jobs in the steps queue by state (waiting = queue depth; delayed = retries and delays not yet due)',
      labelNames: ['state'] as const,
      registers: [this.metrics.registry],
      async collect() {
        this.reset();
        // With Redis away a scrape must still answer (without these samples) rather than hang.
        if (queue.client.status !== 'ready') return;
        const counts = await Promise.race([
          queue.getJobCounts().catch(() => null),
          new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000).unref()),
        ]);
        if (!counts) return;
        const waiting = counts.waiting + ((counts as { paused?: number }).paused ?? 0);
        for (const state of STATES) this.set({ state }, state === 'waiting' ? waiting : counts[state]);
      },
    });
  }
}
