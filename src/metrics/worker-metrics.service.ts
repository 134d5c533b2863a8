import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createServer, Server } from 'node:http';
import { DataSource } from 'typeorm';
import { AppConfig } from 'src/config/app-config';
import { MetricsService } from 'src/metrics/metrics.service';
import { StepQueue } from 'src/queue/step-queue.service';

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * A worker (MODE=worker) serves no API, yet its step attempts and executions are counted where they
 * run: with METRICS_PORT set it answers GET /metrics and GET /health (as the API does) on that port.
 */
@Injectable()
export class WorkerMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerMetricsServer.name);
  private server?: Server;

  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    private readonly queue: StepQueue,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.values.METRICS_PORT;
    // A MODE=all worker thread has no METRICS_PORT: its parent merges its metrics into /metrics.
    if (this.config.values.MODE !== 'worker' || port === undefined) return;
    const server = createServer((req, res) => {
      void this.answer(req.method, req.url).then(({ status, type, body }) => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '0.0.0.0', () => resolve());
    });
    this.logger.log({ port }, 'worker metrics and health listening');
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async answer(
    method: string | undefined,
    url: string | undefined,
  ): Promise<{ status: number; type: string; body: string }> {
    const path = (url ?? '').split('?')[0];
    if (method === 'GET' && path === '/metrics') {
      try {
        return {
          status: 200,
          type: this.metrics.registry.contentType,
          body: await this.metrics.registry.metrics(),
        };
      } catch (e) {
        return { status: 500, type: 'text/plain', body: (e as Error).message };
      }
    }
    if (method === 'GET' && path === '/health') {
      const [postgres, redis] = await Promise.all([
        within(this.db.query('SELECT 1'), 2000).then(
          () => ({ status: 'up' }),
          (e: Error) => ({ status: 'down', message: e.message }),
        ),
        within(this.queue.ping(), 2000).then(
          () => ({ status: 'up' }),
          (e: Error) => ({ status: 'down', message: e.message }),
        ),
      ]);
      const ok = postgres.status === 'up' && redis.status === 'up';
      const body = { status: ok ? 'ok' : 'error', info: { postgres, redis } };
      return { status: ok ? 200 : 503, type: 'application/json', body: JSON.stringify(body) };
    }
    return { status: 404, type: 'application/json', body: '{"statusCode":404,"error":"Not Found"}' };
  }
}
