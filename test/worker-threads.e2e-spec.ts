import { fire } from './support/app';
import { EngineProcess, engineApi as api, freePort } from './support/engine-process';
import { metricValue, scrape } from './support/operate-metrics';
import { Receiver } from './support/receiver';
import { waitFor } from './support/wait-for';

/**
 * `npm start` (MODE=all) runs the API on the main thread and the jobs in WORKER_THREADS threads of
 * the same process: the real dist/main.js, so the thread entry is the one that ships.
 */
describe('MODE=all with worker threads', () => {
  let engine: EngineProcess;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await new Receiver().start();
    engine = await new EngineProcess({ MODE: 'all', PORT: freePort(), WORKER_THREADS: '2' }).start();
  });
  afterAll(async () => {
    await engine.stop();
    await rx.stop();
  });

  it('runs steps in the threads and answers one /metrics with their counts merged in', async () => {
    const flow = await api(engine.url, 'POST', '/api/v1/flows', {
      name: 'threaded',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'shape', type: 'transform', expression: '{"n": event.body.n}' },
        { id: 'deliver', type: 'http', method: 'POST', url: `${rx.url}/threads`, body: '{{ steps.shape }}' },
      ],
    });
    const before = await scrape(engine.url);
    const ids: string[] = [];
    for (let n = 0; n < 6; n++) {
      const res = await fire(`${engine.url}/hooks/${flow.trigger.token}`, { n });
      expect(res.status).toBe(202);
      ids.push(res.body.executionId);
    }
    await waitFor(() => rx.at('/threads').length >= 6, 15_000);
    expect(
      rx
        .at('/threads')
        .map((r) => (r.json as { n: number }).n)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4, 5]);
    await waitFor(async () => {
      const all = await Promise.all(ids.map((id) => api(engine.url, 'GET', `/api/v1/executions/${id}`)));
      return all.every((e) => e.status === 'succeeded');
    }, 15_000);

    const after = await scrape(engine.url);
    const delta = (name: string, labels: Record<string, string>): number =>
      metricValue(after, name, labels) - metricValue(before, name, labels);
    // Counted by the API thread …
    expect(delta('hookflow_webhooks_total', { result: 'accepted' })).toBe(6);
    // … and by whichever worker thread ran the job: the two threads' registries summed.
    expect(delta('hookflow_step_attempts_total', { type: 'http', outcome: 'succeeded' })).toBe(6);
    expect(delta('hookflow_executions_total', { status: 'succeeded' })).toBe(6);
    // Process figures and the queue depth are reported once, not once per thread.
    expect(after.match(/^hookflow_process_resident_memory_bytes /gm)).toHaveLength(1);
    expect(after.match(/^hookflow_queue_jobs\{state="waiting"\} /gm)).toHaveLength(1);
  });
});
