import { monitorEventLoopDelay } from 'node:perf_hooks';
import { EVALUATION_TIMEOUT_MS } from 'src/expressions/expression';
import { bootApp, fire, TestApp } from './support/app';
import { OutboundServer } from './support/outbound-server';
import { createFlow, finished } from './support/flow-runs';
import { sleep, waitFor } from './support/wait-for';

/** Backtracks 2^33 times on 33 characters without a match: hours on whichever thread runs it. */
const CATASTROPHIC = '$contains(event.body.email, /^([a-zA-Z0-9]+)+@x\\.com$/)';
const EVIL_EMAIL = 'a'.repeat(33);
const TIMEOUT_ERROR = `expression took longer than ${EVALUATION_TIMEOUT_MS} ms`;

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
}

describe('isolation of expressions: a runaway expression holds nobody but its own flow', () => {
  let t: TestApp;
  let srv: OutboundServer;

  beforeAll(async () => {
    srv = await new OutboundServer('127.0.0.1').start();
    t = await bootApp();
  });
  afterAll(async () => {
    await t.close();
    await srv.stop();
  });

  const post = (path: string, body: Record<string, unknown>): Record<string, unknown> => ({
    id: 'send',
    type: 'http',
    method: 'POST',
    url: `${srv.url}${path}`,
    body,
    retry: { attempts: 1 },
  });

  /** Fires `count` events at ~50 a second (one every 20 ms, not waiting for answers); accept latencies in ms. */
  async function burst(hook: string, count: number, from: number, ids: string[]): Promise<number[]> {
    const latencies: number[] = [];
    const accepts: Array<Promise<void>> = [];
    for (let n = from; n < from + count; n++) {
      const started = performance.now();
      accepts.push(
        fire(hook, { name: 'ada', n }).then((res) => {
          latencies.push(performance.now() - started);
          expect(res.status).toBe(202);
          ids.push(res.body.executionId as string);
        }),
      );
      await sleep(20);
    }
    await Promise.all(accepts);
    return latencies;
  }

  it("keeps another flow's accept p99 under 100 ms while a filter's catastrophic regex times out", async () => {
    const slow = await createFlow(t, { filter: CATASTROPHIC, steps: [post('/never', { x: 1 })] });
    // A filter outside the in-thread subset: it takes turns in the same evaluator threads.
    const fast = await createFlow(t, {
      filter: '$contains(event.body.name, "a")',
      steps: [post('/fast', { n: '{{ event.body.n }}' })],
    });
    const fastIds: string[] = [];
    // Warm-up: the evaluator threads start on the first expression outside the in-thread subset.
    for (let n = -3; n < 0; n++) fastIds.push((await fire(fast.hook, { name: 'ada', n })).body.executionId);
    // The fast flow alone first: what it answers alone on this host right now.
    const alone = await burst(fast.hook, 100, 0, fastIds);

    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const slowAccepts = (async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await fire(slow.hook, { email: EVIL_EMAIL });
        expect(res.status).toBe(202);
        ids.push(res.body.executionId as string);
        await sleep(300);
      }
      return ids;
    })();
    const beside = await burst(fast.hook, 200, 100, fastIds);
    const slowIds = await slowAccepts;
    loop.disable();

    const stallMs = loop.max / 1e6;
    console.log(
      `accept p99 alone ${p99(alone).toFixed(1)} ms, beside the runaway filter ${p99(beside).toFixed(1)} ms; longest event-loop stall ${stallMs.toFixed(0)} ms`,
    );
    // The figure to hold is 100 ms (the bench has the tight one). On a host so loaded (other test
    // runs on 2 cores) that the flow alone is slower, a bound relative to what it answers alone.
    expect(p99(beside)).toBeLessThan(Math.max(100, 4 * p99(alone)));
    // The regex ran for seconds in all; the app's thread never waited for it.
    expect(stallMs).toBeLessThan(EVALUATION_TIMEOUT_MS);
    // API.md section 3: a filter that fails to evaluate stores a failed execution with the error.
    for (const id of slowIds) {
      const ex = await finished(t, id, 30_000);
      expect(ex.status).toBe('failed');
      expect(ex.error).toContain(TIMEOUT_ERROR);
    }
    expect(srv.at('/never')).toHaveLength(0);
    // Every fast event is delivered exactly once.
    expect(fastIds).toHaveLength(303);
    await waitFor(() => srv.at('/fast').length >= 303, 60_000);
    const ns = srv.at('/fast').map((s) => (JSON.parse(s.body) as { n: number }).n);
    expect(new Set(ns).size).toBe(303);
    expect(ns).toHaveLength(303);
  });

  it("fails a transform's catastrophic regex with a clear error while another flow's deliveries keep arriving", async () => {
    const slow = await createFlow(t, {
      steps: [
        { id: 'check', type: 'transform', expression: CATASTROPHIC },
        post('/never-transform', { ok: '{{ steps.check }}' }),
      ],
    });
    const fast = await createFlow(t, {
      steps: [
        { id: 'shout', type: 'transform', expression: '$uppercase(event.body.name)' },
        post('/fast-transform', { name: '{{ steps.shout }}', n: '{{ event.body.n }}' }),
      ],
    });
    const slowIds: string[] = [];
    for (let i = 0; i < 3; i++) slowIds.push((await fire(slow.hook, { email: EVIL_EMAIL })).body.executionId);
    const started = Date.now();
    for (let n = 0; n < 30; n++) {
      expect((await fire(fast.hook, { name: 'ada', n })).status).toBe(202);
      await sleep(100);
    }
    await waitFor(() => srv.at('/fast-transform').length >= 30, 30_000);
    const seen = srv.at('/fast-transform');
    expect(seen.map((s) => JSON.parse(s.body))).toEqual(
      Array.from({ length: 30 }, (_, n) => expect.objectContaining({ name: 'ADA', n })),
    );
    // Deliveries flowed during the slow transforms (3 s of them), not after.
    const gaps = seen.slice(1).map((s, i) => s.at - seen[i].at);
    expect(Math.max(...gaps)).toBeLessThan(900);
    expect(seen[0].at - started).toBeLessThan(2000);
    for (const id of slowIds) {
      const ex = await finished(t, id, 30_000);
      expect(ex.status).toBe('failed');
      expect(ex.steps[0].status).toBe('failed');
      expect(JSON.stringify(ex.steps[0])).toContain(TIMEOUT_ERROR);
      expect(ex.error).toContain(TIMEOUT_ERROR);
    }
    expect(srv.at('/never-transform')).toHaveLength(0);
  });

  it('encodes values spliced into a URL; a whole-URL template stays as it is', async () => {
    const flow = await createFlow(t, {
      steps: [
        {
          ...post('/unused', { a: 1 }),
          id: 'spliced',
          url: `${srv.url}/echo/{{ event.body.p }}?q={{ event.body.q }}`,
        },
        { ...post('/unused', { a: 2 }), id: 'whole', url: '{{ event.body.whole }}' },
      ],
    });
    const res = await fire(flow.hook, { p: '../../secret', q: 'a&b=c', whole: `${srv.url}/whole/x?y=1` });
    const ex = await finished(t, res.body.executionId, 30_000);
    expect(ex.status).toBe('succeeded');
    expect(srv.at('/secret')).toHaveLength(0);
    expect(srv.at('/echo/..%2F..%2Fsecret')).toHaveLength(1);
    expect(srv.at('/whole/x')).toHaveLength(1);
  });

  it('fails a step that names an unset secret, naming it, and sends nothing', async () => {
    const flow = await createFlow(t, {
      steps: [{ ...post('/unauthenticated', { a: 1 }), headers: { 'x-token': '{{ $secrets.NC_TOKEN }}' } }],
    });
    const ex = await finished(t, (await fire(flow.hook, {})).body.executionId, 30_000);
    expect(ex.status).toBe('failed');
    expect(ex.error).toContain('secret NC_TOKEN is not set');
    expect(srv.at('/unauthenticated')).toHaveLength(0);
  });

  it('stores outputs as the plain JSON later steps saw', async () => {
    const flow = await createFlow(t, {
      steps: [
        { id: 'seq', type: 'transform', expression: 'event.body.a[]' },
        { id: 'whole', type: 'transform', expression: '$' },
        { id: 'fn', type: 'transform', expression: "{ 'f': function($x) { $x }, 'n': 1 }" },
        post('/plain', { seq: '{{ steps.seq }}', n: '{{ $count(steps.seq) }}', fn: '{{ steps.fn }}' }),
      ],
    });
    const ex = await finished(t, (await fire(flow.hook, { a: 5 })).body.executionId, 30_000);
    expect(ex.status).toBe('succeeded');
    expect(JSON.parse(srv.at('/plain')[0].body)).toEqual({ seq: [5], n: 1, fn: { n: 1 } });
    expect(ex.steps[0].output).toEqual([5]);
    expect(ex.steps[1].output.event.body).toEqual({ a: 5 });

    const poison = await createFlow(t, {
      steps: [{ id: 'split', type: 'transform', expression: '$split("😀", "")' }],
    });
    const failed = await finished(t, (await fire(poison.hook, {})).body.executionId, 30_000);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/lone UTF-16 surrogate/);
  });
});
