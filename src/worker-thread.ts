// Entry of a MODE=all worker thread (started by src/runtime/worker-threads.service.ts): the worker
// side of hookflow on an event loop of its own. An entry point like main.ts: nothing imports it.
import 'reflect-metadata';
import { MessagePort, parentPort, workerData } from 'node:worker_threads';
import { createWorkerContext } from 'src/app';
import { Config } from 'src/config/env';
import { MetricsService } from 'src/metrics/metrics.service';
import { WORKER_THREAD_NICE, lowerThreadPriority } from 'src/runtime/process-tuning';
import type { FromThread, ToThread } from 'src/runtime/thread-messages';
import { logUnhandledRejections } from 'src/runtime/unhandled-rejections';

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
