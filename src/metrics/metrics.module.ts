import { Global, Module } from '@nestjs/common';
import { MetricsService } from 'src/metrics/metrics.service';
import { QueueMetrics } from 'src/metrics/queue-metrics.service';
import { WorkerMetricsServer } from 'src/metrics/worker-metrics.service';

@Global()
@Module({ providers: [MetricsService, QueueMetrics, WorkerMetricsServer], exports: [MetricsService] })
export class MetricsModule {}
