import { bootApp, fire, TestApp } from './support/app';
import { createFlow, finished } from './support/flow-runs';
import { inParallel, SlowReceiver } from './support/slow-receiver';
import { waitFor } from './support/wait-for';

describe('flow-level concurrency: limit, FIFO per key, waiting work keeps its slot', () => {
  let t: TestApp;
  let rx: SlowReceiver;

  beforeAll(async () => {
    rx = await new SlowReceiver().start();
    t = await bootApp({ WORKER_CONCURRENCY: '20' });
  });
  afterAll(async () => {
    await t.close();
    await rx.stop();
  });

  const post = (path: string, retry?: unknown): Record<string, unknown> => ({
    id: 'deliver',
    type: 'http',
    method: 'POST',
    url: `${rx.url}${path}`,
    body: '{{ event.body }}',
    ...(retry ? { retry } : {}),
  });

  async function status(id: string): Promise<string> {
    return (await t.api('GET', `/api/v1/executions/${id}`)).body.status as string;
  }

  it('limit 1 per key: 20 keys × 25 events all delivered, each key in acceptance order, keys side by side', async () => {
    rx.delay('/fifo', 3);
    const { hook } = await createFlow(t, {
      concurrency: { limit: 1, key: 'event.body.k' },
      steps: [post('/fifo')],
    });
    const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
    // Each key's events one after another (the next is sent after the 202 of the one before: its
    // acceptance order), keys in parallel.
    const accepted = await inParallel(keys, 10, async (k) => {
      const ids: string[] = [];
      for (let n = 0; n < 25; n++) {
        const res = await fire(hook, { k, n });
        expect(res.status).toBe(202);
        expect(res.body).toEqual({ executionId: expect.any(String), status: 'queued' });
        ids.push(res.body.executionId as string);
      }
      return ids;
    });
    await waitFor(() => rx.at('/fifo').length >= 500, 90_000, 100);
    const ends = await Promise.all(accepted.flat().map((id) => finished(t, id, 30_000)));
    expect(ends.every((e) => e.status === 'succeeded')).toBe(true);
    const seen = rx.at('/fifo');
    expect(seen).toHaveLength(500);
    expect(Math.max(...seen.map((a) => a.inFlightForKey))).toBe(1);
    for (const k of keys) {
      expect(seen.filter((a) => a.body.k === k).map((a) => a.body.n)).toEqual([...Array(25).keys()]);
    }
    // Keys ran side by side: the deliveries switch key far more often than once per key.
    let switches = 0;
    for (let i = 1; i < seen.length; i++) if (seen[i].body.k !== seen[i - 1].body.k) switches++;
    expect(switches).toBeGreaterThan(100);
  }, 150_000);

  it('an execution waiting to retry keeps its slot: a later event of its key waits queued until it ends', async () => {
    const { hook } = await createFlow(t, {
      concurrency: { limit: 1, key: 'event.body.k' },
      steps: [post('/retry', { attempts: 3, backoff: { type: 'fixed', delayMs: 300 } })],
    });
    rx.failFirst('/retry', 1);
    const first = await fire(hook, { k: 'r', n: 1 });
    await waitFor(async () => (await status(first.body.executionId)) === 'waiting', 10_000);
    const second = await fire(hook, { k: 'r', n: 2 });
    const other = await fire(hook, { k: 'other', n: 3 });
    // Another key is not held up by it.
    expect((await finished(t, other.body.executionId)).status).toBe('succeeded');
    expect(await status(second.body.executionId)).toBe('queued');
    const a = await finished(t, first.body.executionId);
    const b = await finished(t, second.body.executionId);
    expect([a.status, b.status]).toEqual(['succeeded', 'succeeded']);
    expect(a.steps[0].attempts).toHaveLength(2);
    const keyR = rx.at('/retry').filter((x) => x.body.k === 'r');
    expect(keyR.map((x) => x.body.n)).toEqual([1, 1, 2]);
    expect(new Date(b.startedAt).getTime()).toBeGreaterThanOrEqual(new Date(a.finishedAt).getTime());
  });

  it('a retried execution goes back in line: it waits for the one holding its slot', async () => {
    rx.failFirst('/again', 1);
    rx.delay('/hold', 1000);
    const { hook } = await createFlow(t, {
      concurrency: { limit: 1, key: 'event.body.k' },
      steps: [
        {
          id: 'deliver',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/{{ event.body.p }}`,
          body: '{{ event.body }}',
          retry: { attempts: 1 },
        },
      ],
    });
    const a = (await fire(hook, { k: 'q', p: 'again' })).body.executionId as string;
    expect((await finished(t, a)).status).toBe('failed');
    const c = (await fire(hook, { k: 'q', p: 'hold' })).body.executionId as string;
    await waitFor(() => rx.at('/hold').length === 1, 10_000);
    const retried = await t.api('POST', `/api/v1/executions/${a}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.body).toEqual({ executionId: a, status: 'queued' });
    expect(await status(a)).toBe('queued');
    expect(rx.at('/again')).toHaveLength(1);
    const again = await finished(t, a);
    expect(again.status).toBe('succeeded');
    expect(again.steps[0].attempts).toHaveLength(2);
    expect((await finished(t, c)).status).toBe('succeeded');
    // Its second request came after the held one, and when it came, nothing else of key q was in flight.
    const q = rx.arrivals.filter((x) => x.body?.k === 'q').map((x) => [x.path, x.inFlightForKey]);
    expect(q).toEqual([
      ['/again', 1],
      ['/hold', 1],
      ['/again', 1],
    ]);
  });

  it('limit 3 without a key: never more than 3 at the receiver at once, and all delivered', async () => {
    rx.delay('/three', 150);
    const { hook } = await createFlow(t, { concurrency: { limit: 3 }, steps: [post('/three')] });
    const accepted = await Promise.all(Array.from({ length: 15 }, (_, n) => fire(hook, { n })));
    // Sampled while they run: never more than 3 of the flow's executions started and not final.
    let sampled = 0;
    const sampler = setInterval(() => {
      void t.api('GET', `/api/v1/executions?limit=100&status=running,waiting`).then((r) => {
        sampled = Math.max(sampled, (r.body.items ?? []).length);
      });
    }, 50);
    try {
      await Promise.all(accepted.map((a) => finished(t, a.body.executionId as string, 30_000)));
    } finally {
      clearInterval(sampler);
    }
    const seen = rx.at('/three');
    expect(seen).toHaveLength(15);
    expect(Math.max(...seen.map((a) => a.inFlight))).toBeLessThanOrEqual(3);
    expect(Math.max(...seen.map((a) => a.inFlight))).toBeGreaterThanOrEqual(2);
    expect(sampled).toBeLessThanOrEqual(3);
  }, 60_000);

  it('cancel: a queued execution never runs; cancelling a running one frees its slot for the next', async () => {
    rx.delay('/cancel', 3000);
    const { hook } = await createFlow(t, { concurrency: { limit: 1 }, steps: [post('/cancel')] });
    const a = (await fire(hook, { n: 'a' })).body.executionId as string;
    const b = (await fire(hook, { n: 'b' })).body.executionId as string;
    const c = (await fire(hook, { n: 'c' })).body.executionId as string;
    await waitFor(() => rx.at('/cancel').length === 1, 10_000);
    expect(await status(b)).toBe('queued');
    const cancelled = await t.api('POST', `/api/v1/executions/${b}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.steps[0].status).toBe('cancelled');
    expect(await status(c)).toBe('queued');
    // a is still at the receiver (3 s); cancelling it lets c start at once.
    expect((await t.api('POST', `/api/v1/executions/${a}/cancel`)).status).toBe(200);
    await waitFor(() => rx.at('/cancel').length === 2, 2500);
    expect(rx.at('/cancel').map((x) => x.body.n)).toEqual(['a', 'c']);
    expect((await finished(t, c)).status).toBe('succeeded');
    expect(await status(b)).toBe('cancelled');
  }, 30_000);

  it('event triggers wait in line too, and a key that cannot be evaluated fails the execution', async () => {
    rx.delay('/events', 200);
    const { id } = await createFlow(t, {
      trigger: { type: 'event', event: 'concurrency.test' },
      concurrency: { limit: 1 },
      steps: [post('/events')],
    });
    const runs: string[] = [];
    for (let n = 0; n < 3; n++) {
      const res = await t.api('POST', '/api/v1/events', { type: 'concurrency.test', data: { n } });
      expect(res.status).toBe(202);
      runs.push(...(res.body.executionIds as string[]));
    }
    await Promise.all(runs.map((r) => finished(t, r)));
    const seen = rx.at('/events');
    expect(seen.map((a) => a.body.n)).toEqual([0, 1, 2]);
    expect(seen.every((a) => a.inFlight === 1)).toBe(true);
    expect(id).toEqual(expect.any(String));

    const { hook } = await createFlow(t, {
      concurrency: { limit: 1, key: "$error('no key here')" },
      steps: [post('/never')],
    });
    const res = await fire(hook, { k: 1 });
    expect(res.status).toBe(202);
    const ex = await finished(t, res.body.executionId);
    expect(ex.status).toBe('failed');
    expect(ex.error).toMatch(/^concurrency\.key failed: .*no key here/);
    expect(rx.at('/never')).toHaveLength(0);
    // The dry run says the same, and runs no step.
    const dry = await t.api('POST', '/api/v1/flows/test', {
      definition: {
        name: 'dry',
        trigger: { type: 'webhook' },
        concurrency: { limit: 1, key: "$error('no key here')" },
        steps: [post('/never')],
      },
      event: { body: { k: 1 } },
    });
    expect(dry.status).toBe(200);
    expect(dry.body.filter).toEqual({
      matched: false,
      error: expect.stringMatching(/^concurrency\.key failed: /),
    });
    expect(dry.body.steps[0].status).toBe('skipped');
  }, 30_000);

  it('is part of the definition: shown, changed by PATCH, removed with null; bad values are 400', async () => {
    const steps = [{ id: 'x', type: 'transform', expression: '1' }];
    const { id, flow } = await createFlow(t, { concurrency: { limit: 5, key: 'event.body.k' }, steps });
    expect(flow.concurrency).toEqual({ limit: 5, key: 'event.body.k' });
    const patched = await t.api('PATCH', `/api/v1/flows/${id}`, { concurrency: { limit: 2 } });
    expect(patched.status).toBe(200);
    expect(patched.body.concurrency).toEqual({ limit: 2 });
    expect(patched.body.version).toBe(2);
    const removed = await t.api('PATCH', `/api/v1/flows/${id}`, { concurrency: null });
    expect(removed.status).toBe(200);
    expect(removed.body.concurrency).toBeUndefined();

    const bad = async (concurrency: unknown): Promise<string[]> => {
      const res = await t.api('POST', '/api/v1/flows', {
        name: 'bad',
        trigger: { type: 'webhook' },
        steps,
        concurrency,
      });
      expect(res.status).toBe(400);
      return res.body.message as string[];
    };
    expect(JSON.stringify(await bad({ limit: 0 }))).toMatch(/concurrency\.limit/);
    expect(JSON.stringify(await bad({ limit: 1001 }))).toMatch(/concurrency\.limit/);
    expect(JSON.stringify(await bad({ limit: 1.5 }))).toMatch(/concurrency\.limit/);
    expect(JSON.stringify(await bad({}))).toMatch(/concurrency\.limit/);
    expect(JSON.stringify(await bad({ limit: 1, perKey: true }))).toMatch(/perKey/);
    expect(JSON.stringify(await bad({ limit: 1, key: 'event.body.(' }))).toMatch(/concurrency\.key/);
    expect(JSON.stringify(await bad(3))).toMatch(/concurrency/);
  });
});
