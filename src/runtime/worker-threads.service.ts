import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { AppConfig } from 'src/config/app-config';
import { Config, workerThreadCount } from 'src/config/env';
import { MetricsService } from 'src/metrics/metrics.service';
import { workerResourceLimits } from 'src/runtime/process-tuning';
import type { FromThread, ToThread } from 'src/runtime/thread-messages';

const BOOT_TIMEOUT_MS = 60_000;
const METRICS_TIMEOUT_MS = 2_000;

type Metrics = Array<MetricObjectWithValues<MetricValue<string>>>;

/**
 * Starts MODE=all's worker threads: each boots the worker side (queue consumers, scheduler,
 * reconciler, retention) in an isolate and event loop of its own, so accepting webhooks and running
 * steps no longer queue behind each other on one thread. Their metrics are merged into this
 * process's /metrics; on SIGTERM they finish running attempts like a MODE=worker process would.
 * A thread that dies takes the process down with it, for the supervisor to restart: accepted work
 * is in PostgreSQL, and a process that accepts but never delivers would only hide the fault.
 */
@Injectable()
export class WorkerThreads implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerThreads.name);
  private readonly threads: Worker[] = [];
  private readonly replies = new Map<number, (metrics: Metrics) => void>();
  private nextRequest = 0;
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const count = workerThreadCount(this.config.values);
    const config: Config = {
      ...this.config.values,
      MODE: 'worker',
      METRICS_PORT: undefined,
      workerThread: true,
    };
    await Promise.all(Array.from({ length: count }, (_, index) => this.start(index, config)));
    this.logger.log({ threads: count }, 'worker threads running');
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    const limitMs = this.config.values.SHUTDOWN_GRACE_MS + 5_000;
    await Promise.all(this.threads.map((thread) => this.stop(thread, limitMs)));
  }

  private start(index: number, config: Config): Promise<void> {
    const thread = new Worker(join(__dirname, '..', 'worker-thread.js'), {
      workerData: { config },
      resourceLimits: workerResourceLimits(),
    });
    this.threads.push(thread);
    this.metrics.addSource(() => this.metricsOf(thread));
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(
        () => reject(new Error(`worker thread ${index} did not start within ${BOOT_TIMEOUT_MS} ms`)),
        BOOT_TIMEOUT_MS,
      );
      thread.on('message', (m: FromThread) => {
        if (m.type === 'ready') {
          ready = true;
          clearTimeout(timer);
          resolve();
        } else if (m.type === 'boot-failed') {
          clearTimeout(timer);
          reject(new Error(`worker thread ${index}: ${m.message}`));
        } else if (m.type === 'metrics') {
          this.replies.get(m.id)?.(m.metrics);
        }
      });
      thread.on('error', (e: Error) => this.logger.error({ err: e, thread: index }, 'worker thread error'));
      thread.on('exit', (code: number) => {
        clearTimeout(timer);
        if (this.stopping) return;
        if (!ready) return reject(new Error(`worker thread ${index} exited during boot (code ${code})`));
        process.stderr.write(
          `hookflow: worker thread ${index} exited (code ${code}); stopping so that the supervisor restarts hookflow\n`,
        );
        process.exit(1);
      });
    });
  }

  private metricsOf(thread: Worker): Promise<Metrics> {
    if (thread.threadId === -1) return Promise.resolve([]);
    const id = this.nextRequest++;
    return new Promise<Metrics>((resolve) => {
      const timer = setTimeout(() => settle([]), METRICS_TIMEOUT_MS);
      const settle = (metrics: Metrics): void => {
        clearTimeout(timer);
        this.replies.delete(id);
        resolve(metrics);
      };
      this.replies.set(id, settle);
      thread.postMessage({ type: 'metrics', id } satisfies ToThread);
    });
  }

  private async stop(thread: Worker, limitMs: number): Promise<void> {
    if (thread.threadId === -1) return;
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.postMessage({ type: 'stop' } satisfies ToThread);
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), limitMs))),
    ]);
    clearTimeout(timer);
    if (!inTime) await thread.terminate();
  }
}
