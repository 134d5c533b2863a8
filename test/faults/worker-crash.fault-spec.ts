import { bootApp, fire, TestApp } from '../support/app';
import { EngineProcess } from '../support/engine-process';
import { Receiver } from '../support/receiver';
import { waitFor } from '../support/wait-for';

describe('a worker killed mid-step', () => {
  let api: TestApp;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await new Receiver().start();
    api = await bootApp({ MODE: 'api' });
  });
  afterAll(async () => {
    await api.close();
    await rx.stop();
  });

  it('has its step run again by another worker', async () => {
    // The first delivery hangs long enough for the worker to be killed while it waits.
    rx.script('/hang', [
      { status: 200, delayMs: 60_000 },
      { status: 200, body: { second: true } },
    ]);
    const created = await api.api('POST', '/api/v1/flows', {
      name: 'crash',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'deliver',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/hang`,
          timeoutMs: 120_000,
          body: { n: 1 },
        },
      ],
    });
    const env = { MODE: 'worker', JOB_LOCK_MS: '2000', PORT: '0' };
    const first = await new EngineProcess(env).start();
    const { executionId } = (await fire(`${api.url}/hooks/${created.body.trigger.token}`, {})).body;
    await waitFor(() => rx.at('/hang').length === 1, 10_000);
    await first.kill9();

    const second = await new EngineProcess(env).start();
    try {
      const ex = await waitFor(
        async () => {
          const res = await api.api('GET', `/api/v1/executions/${executionId}`);
          return res.body.status === 'succeeded' ? res.body : null;
        },
        45_000,
        200,
      );
      expect(rx.at('/hang')).toHaveLength(2);
      expect(ex.steps[0].status).toBe('succeeded');
      expect(ex.steps[0].output.body).toEqual({ second: true });
    } finally {
      await second.stop();
    }
  });
});
