import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { AppConfig } from 'src/config/app-config';
import { MetricsService } from 'src/metrics/metrics.service';
import { StepQueue } from 'src/queue/step-queue.service';

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** Queue depth read from Redis at scrape time, so every process reports the shared queue. */
@Injectable()
export class QueueMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly queue: StepQueue,
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
        const counts = await queue.counts(1000);
        if (!counts) return;
        for (const state of STATES) this.set({ state }, counts[state]);
      },
    });
  }
}
