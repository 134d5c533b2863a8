// Entry of a MODE=all worker thread (started by worker-threads.service.ts): the worker side of
// hookflow on an event loop of its own. Not a module anything imports, apart from its types.
import 'reflect-metadata';
import { MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { createWorkerContext } from 'src/app';
import { Config } from 'src/config/env';
import { MetricsService } from 'src/metrics/metrics.service';
import { WORKER_THREAD_NICE, lowerThreadPriority } from 'src/runtime/process-tuning';
import { logUnhandledRejections } from 'src/runtime/unhandled-rejections';

export type ToThread = { type: 'metrics'; id: number } | { type: 'stop' };
export type FromThread =
  | { type: 'ready' }
  | { type: 'boot-failed'; message: string }
  | { type: 'metrics'; id: number; metrics: Array<MetricObjectWithValues<MetricValue<string>>> };

async function run(port: MessagePort): Promise<void> {
  const { config } = workerData as { config: Config };
  lowerThreadPriority(WORKER_THREAD_NICE);
  const app = await createWorkerContext(config);
  const metrics = app.get(MetricsService);
  const send = (m: FromThread): void => port.postMessage(m);
  port.on('message', (m: ToThread) => {
    if (m.type === 'metrics') {
      metrics.registry.getMetricsAsJSON().then(
        (list) => send({ type: 'metrics', id: m.id, metrics: list }),
        () => send({ type: 'metrics', id: m.id, metrics: [] }),
      );
    } else if (m.type === 'stop') {
      // Nest's shutdown hooks: stop taking jobs, let running attempts finish (SHUTDOWN_GRACE_MS).
      void app.close().finally(() => process.exit(0));
    }
  });
  send({ type: 'ready' });
}

if (parentPort) {
  const port = parentPort;
  logUnhandledRejections();
  run(port).catch((e: unknown) => {
    port.postMessage({
      type: 'boot-failed',
      message: (e as Error)?.message ?? String(e),
    } satisfies FromThread);
    process.exit(1);
  });
}
