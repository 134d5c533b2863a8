import { Injectable } from '@nestjs/common';
import {
  AggregatorRegistry,
  collectDefaultMetrics,
  Counter,
  Histogram,
  MetricObjectWithValues,
  MetricValue,
  Registry,
} from 'prom-client';
import { AppConfig } from 'src/config/app-config';

export type WebhookResult = 'accepted' | 'duplicate' | 'filtered' | 'unauthorized' | 'rejected';

/** Metrics kept elsewhere in this process (a worker thread's registry), merged into each scrape. */
export type MetricsSource = () => Promise<Array<MetricObjectWithValues<MetricValue<string>>>>;

/** Prometheus metrics (API.md section 2), one registry per app instance so tests can boot several. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly webhooks = new Counter({
    name: 'hookflow_webhooks_total',
    help: 'Inbound webhook requests by result',
    labelNames: ['result', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly executions = new Counter({
    name: 'hookflow_executions_total',
    help: 'Executions that reached a final status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  private readonly attempts = new Counter({
    name: 'hookflow_step_attempts_total',
    help: 'Step attempts by step type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly attemptDuration = new Histogram({
    name: 'hookflow_step_attempt_duration_seconds',
    help: 'Duration of step attempts',
    labelNames: ['type'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly reconciled = new Counter({
    name: 'hookflow_reconciler_requeued_total',
    help: 'Jobs the reconciler re-added because committed work had no job',
    registers: [this.registry],
  });
  private readonly httpRequests = new Counter({
    name: 'hookflow_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'hookflow_http_request_duration_seconds',
    help: 'HTTP request duration by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly prunedRows = new Counter({
    name: 'hookflow_retention_pruned_total',
    help: 'Rows removed by retention, by table',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  private readonly sources: MetricsSource[] = [];

  constructor(config: AppConfig) {
    // Process figures (memory, CPU, event loop of the main thread) come from the main thread only,
    // so a merged scrape does not count them once per thread.
    if (!config.values.workerThread) collectDefaultMetrics({ register: this.registry, prefix: 'hookflow_' });
  }

  addSource(source: MetricsSource): void {
    this.sources.push(source);
  }

  /** The Prometheus text of this registry plus every source's (counters and histograms summed). */
  async render(): Promise<string> {
    if (this.sources.length === 0) return this.registry.metrics();
    const parts = await Promise.all([
      this.registry.getMetricsAsJSON(),
      ...this.sources.map((source) => source().catch(() => [])),
    ]);
    return AggregatorRegistry.aggregate(parts).metrics();
  }

  webhook(result: WebhookResult, reason = ''): void {
    this.webhooks.inc({ result, reason });
  }

  executionFinished(status: string): void {
    this.executions.inc({ status });
  }

  stepAttempt(type: string, outcome: 'succeeded' | 'failed', seconds: number): void {
    this.attempts.inc({ type, outcome });
    this.attemptDuration.observe({ type }, seconds);
  }

  /** `route` is the route pattern (`/hooks/:token`), never the raw URL: bounded labels, no tokens. */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.httpDuration.observe({ method, route }, seconds);
  }

  pruned(table: string, rows: number): void {
    this.prunedRows.inc({ table }, rows);
  }
}
