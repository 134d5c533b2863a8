import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { STEPS_QUEUE } from 'src/queue/queue.constants';
import { bootApp, fire, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { createFlow, FINAL_STATUSES, finished, runToEnd } from './support/flow-runs';
import { waitFor } from './support/wait-for';

describe('control flow: forEach', () => {
  let t: TestApp;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await new Receiver().start();
    // Items without a job are re-added soon after (the Redis-loss test below).
    t = await bootApp({ RECONCILE_AFTER_MS: '300' });
  });
  afterAll(async () => {
    await t.close();
    await rx.stop();
  });

  /** Every item of a loop, through the paged API. */
  async function allItems(id: string, query = ''): Promise<any[]> {
    const out: any[] = [];
    let cursor: string | null = null;
    do {
      const page = await t.api(
        'GET',
        `/api/v1/executions/${id}/iterations?limit=200${query}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      out.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    return out;
  }

  const post = (id: string, path: string, extra: Record<string, unknown> = {}) => ({
    id,
    type: 'http',
    method: 'POST',
    url: `${rx.url}${path}`,
    body: { i: '{{ index }}', v: '{{ item }}' },
    ...extra,
  });

  it('1,000 items at concurrency 16: 1,000 distinct deliveries, outputs in item order, paged iterations', async () => {
    const { hook } = await createFlow(t, {
      steps: [
        {
          id: 'each',
          type: 'forEach',
          items: 'event.body.items',
          concurrency: 16,
          steps: [
            post('send', '/many'),
            {
              id: 'shape',
              type: 'transform',
              expression: "{'i': index, 'v': loops.each.item, 'st': steps.send.status}",
            },
          ],
        },
        { id: 'after', type: 'transform', expression: '$count(steps.each)' },
      ],
    });
    const items = Array.from({ length: 1000 }, (_, i) => `v${i}`);
    const ex = await runToEnd(t, hook, { items }, 60_000);
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0]).toMatchObject({
      id: 'each',
      status: 'succeeded',
      iterations: { total: 1000, succeeded: 1000, failed: 0, running: 0, pending: 0, cancelled: 0 },
    });
    expect(ex.steps[0].output).toEqual(items.map((v, i) => ({ i, v, st: 200 })));
    expect(ex.steps[1].output).toBe(1000);
    const got = rx.at('/many').map((r) => (r.json as any).i);
    expect(got).toHaveLength(1000);
    expect(new Set(got).size).toBe(1000);

    const pages = await allItems(ex.id);
    expect(pages.map((p) => p.index)).toEqual(items.map((_, i) => i));
    expect(pages[7]).toMatchObject({
      index: 7,
      status: 'succeeded',
      item: 'v7',
      output: { i: 7, v: 'v7', st: 200 },
    });
    expect(pages[7].steps.map((s: any) => [s.id, s.status, s.attempts.length])).toEqual([
      ['send', 'succeeded', 1],
      ['shape', 'succeeded', 1],
    ]);
    const bad = await t.api('GET', `/api/v1/executions/${ex.id}/iterations?step=after`);
    expect(bad.status).toBe(400);
  }, 90_000);

  it('concurrency 1 delivers in item order; zero items give [] and a single value is one item', async () => {
    const { hook } = await createFlow(t, {
      steps: [{ id: 'seq', type: 'forEach', items: 'event.body.items', steps: [post('one', '/seq')] }],
    });
    const ex = await runToEnd(t, hook, { items: Array.from({ length: 20 }, (_, i) => i * 10) });
    expect(ex.status).toBe('succeeded');
    expect(rx.at('/seq').map((r) => (r.json as any).i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(rx.at('/seq').map((r) => (r.json as any).v)).toEqual(Array.from({ length: 20 }, (_, i) => i * 10));

    const none = await runToEnd(t, hook, {});
    expect(none.status).toBe('succeeded');
    expect(none.steps[0]).toMatchObject({ status: 'succeeded', output: [], iterations: { total: 0 } });
    const single = await runToEnd(t, hook, { items: 'solo' });
    expect(single.steps[0].iterations).toMatchObject({ total: 1, succeeded: 1 });
    expect((rx.at('/seq').at(-1)!.json as any).v).toBe('solo');
  });

  it('an item whose receiver fails twice retries on its own; the other items are unaffected', async () => {
    rx.script('/flaky/2', [{ status: 500 }, { status: 503 }, { status: 200, body: { third: true } }]);
    const { id } = await createFlow(t, {
      steps: [
        {
          id: 'retrying',
          type: 'forEach',
          items: '[0,1,2,3,4]',
          concurrency: 5,
          steps: [
            post('call', '/flaky/{{ index }}', {
              retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 50 } },
            }),
          ],
        },
      ],
    });
    const run = await t.api('POST', `/api/v1/flows/${id}/run`, { payload: {} });
    const ex = await finished(t, run.body.executionId);
    expect(ex.status).toBe('succeeded');
    for (const i of [0, 1, 3, 4]) expect(rx.at(`/flaky/${i}`)).toHaveLength(1);
    expect(rx.at('/flaky/2')).toHaveLength(3);
    const items = await allItems(ex.id);
    expect(items.map((it) => it.steps[0].attempts.length)).toEqual([1, 1, 3, 1, 1]);
    expect(items[2].output.body).toEqual({ third: true });
  });

  it('onItemError continue runs every item and fails the step; stop cancels the items not started', async () => {
    for (const i of [3, 7]) rx.script(`/cont/${i}`, [{ status: 400 }]);
    rx.script('/stop/3', [{ status: 400 }]);
    const body = (path: string, extra: Record<string, unknown>) => ({
      steps: [
        {
          id: 'loop',
          type: 'forEach',
          items: '[0,1,2,3,4,5,6,7,8,9]',
          steps: [post('call', `${path}/{{ index }}`, { retry: { attempts: 1 } })],
          ...extra,
        },
        post('afterwards', '/never-after'),
      ],
    });
    const cont = await createFlow(t, body('/cont', { onItemError: 'continue', concurrency: 2 }));
    const c = await runToEnd(t, cont.hook, {});
    expect(c.status).toBe('failed');
    expect(c.error).toBe('step loop failed: 2 of 10 items failed; first: item 3: step call failed: HTTP 400');
    expect(c.steps[0]).toMatchObject({
      status: 'failed',
      iterations: { total: 10, succeeded: 8, failed: 2, cancelled: 0, running: 0, pending: 0 },
    });
    expect(c.steps[0].output.map((o: any) => (o === null ? null : o.status))).toEqual([
      200,
      200,
      200,
      null,
      200,
      200,
      200,
      null,
      200,
      200,
    ]);
    for (let i = 0; i < 10; i++) expect(rx.at(`/cont/${i}`)).toHaveLength(1);
    const failedItems = await allItems(c.id, '&status=failed');
    expect(failedItems.map((it) => [it.index, it.error])).toEqual([
      [3, 'step call failed: HTTP 400'],
      [7, 'step call failed: HTTP 400'],
    ]);

    const stop = await createFlow(t, body('/stop', {}));
    const s = await runToEnd(t, stop.hook, {});
    expect(s.status).toBe('failed');
    expect(s.error).toBe('step loop failed: item 3: step call failed: HTTP 400');
    expect(s.steps[0].iterations).toEqual({
      total: 10,
      succeeded: 3,
      failed: 1,
      cancelled: 6,
      running: 0,
      pending: 0,
    });
    expect(s.steps[1].status).toBe('pending');
    for (let i = 0; i < 10; i++) expect(rx.at(`/stop/${i}`)).toHaveLength(i <= 3 ? 1 : 0);
    expect(rx.at('/never-after')).toHaveLength(0);
    const cancelled = await allItems(s.id, '&status=cancelled');
    expect(cancelled.map((it) => it.index)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(cancelled[0].steps).toEqual([
      expect.objectContaining({ id: 'call', status: 'cancelled', attempts: [] }),
    ]);
  });

  it('more items than maxItems fail the step before any delivery', async () => {
    const { hook } = await createFlow(t, {
      steps: [
        { id: 'big', type: 'forEach', items: 'event.body', maxItems: 3, steps: [post('x', '/too-many')] },
      ],
    });
    const ex = await runToEnd(t, hook, [1, 2, 3, 4]);
    expect(ex.status).toBe('failed');
    expect(ex.error).toBe('step big failed: items gave 4 items, more than maxItems (3); no item ran');
    expect(ex.steps[0].iterations.total).toBe(0);
    expect(rx.at('/too-many')).toHaveLength(0);
  });

  it('a branch inside a loop sees item and loops.<id>.item; a loop inside a branch runs its items', async () => {
    const { hook } = await createFlow(t, {
      steps: [
        {
          id: 'outer',
          type: 'branch',
          cases: [
            {
              when: 'event.body.go',
              steps: [
                {
                  id: 'per',
                  type: 'forEach',
                  items: 'event.body.orders',
                  concurrency: 3,
                  steps: [
                    {
                      id: 'route',
                      type: 'branch',
                      cases: [
                        {
                          id: 'paid',
                          when: "item.type = 'paid'",
                          steps: [
                            post('fulfil', '/loop-paid', {
                              body: { order: '{{ loops.per.item.id }}', at: '{{ loops.per.index }}' },
                            }),
                          ],
                        },
                      ],
                      default: [post('other', '/loop-other', { body: { order: '{{ item.id }}' } })],
                    },
                  ],
                },
              ],
            },
          ],
        },
        { id: 'sum', type: 'transform', expression: '$count(steps.per)' },
      ],
    });
    const orders = [
      { id: 'o1', type: 'paid' },
      { id: 'o2', type: 'refund' },
      { id: 'o3', type: 'paid' },
    ];
    const ex = await runToEnd(t, hook, { go: true, orders });
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0].steps[0]).toMatchObject({
      id: 'per',
      status: 'succeeded',
      iterations: { succeeded: 3 },
    });
    expect(ex.steps[0].steps[0].output).toEqual([
      { matched: ['paid'] },
      { matched: [] },
      { matched: ['paid'] },
    ]);
    expect(ex.steps[1].output).toBe(3);
    const paid = rx.at('/loop-paid').map((r) => r.json as any);
    expect(paid.sort((a, b) => a.at - b.at)).toEqual([
      { order: 'o1', at: 0 },
      { order: 'o3', at: 2 },
    ]);
    expect(rx.at('/loop-other').map((r) => r.json)).toEqual([{ order: 'o2' }]);
  });

  it('retry after a partial failure re-sends only the failed items and completes the loop', async () => {
    for (const i of [1, 3])
      rx.script(`/partial/${i}`, [{ status: 400 }, { status: 200, body: { again: i } }]);
    const { hook } = await createFlow(t, {
      steps: [
        {
          id: 'part',
          type: 'forEach',
          items: '[0,1,2,3,4]',
          onItemError: 'continue',
          concurrency: 2,
          steps: [post('call', '/partial/{{ index }}', { retry: { attempts: 1 } })],
        },
        { id: 'n', type: 'transform', expression: '$count(steps.part)' },
      ],
    });
    const failed = await runToEnd(t, hook, {});
    expect(failed.status).toBe('failed');
    expect(failed.steps[0].iterations).toMatchObject({ succeeded: 3, failed: 2 });
    const retried = await t.api('POST', `/api/v1/executions/${failed.id}/retry`);
    expect(retried.status).toBe(202);
    const done = await waitFor(async () => {
      const ex = (await t.api('GET', `/api/v1/executions/${failed.id}`)).body;
      return FINAL_STATUSES.includes(ex.status) && ex.status !== 'failed' ? ex : null;
    }, 15_000);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].iterations).toEqual({
      total: 5,
      succeeded: 5,
      failed: 0,
      cancelled: 0,
      running: 0,
      pending: 0,
    });
    expect(done.steps[0].output.map((o: any) => o.status)).toEqual([200, 200, 200, 200, 200]);
    expect(done.steps[1].output).toBe(5);
    expect([0, 1, 2, 3, 4].map((i) => rx.at(`/partial/${i}`).length)).toEqual([1, 2, 1, 2, 1]);
    const items = await allItems(done.id);
    expect(items.map((it) => it.steps[0].attempts.length)).toEqual([1, 2, 1, 2, 1]);
  });

  it('cancel mid-loop stops the items not started; nothing is delivered afterwards', async () => {
    rx.script('/slow', [{ status: 200, delayMs: 100 }]);
    const { hook } = await createFlow(t, {
      steps: [{ id: 'slowly', type: 'forEach', items: '[1..30]', steps: [post('s', '/slow')] }],
    });
    const accepted = await fire(hook, {});
    const id = accepted.body.executionId;
    await waitFor(() => rx.at('/slow').length >= 3, 10_000);
    const cancelled = await t.api('POST', `/api/v1/executions/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const sent = rx.at('/slow').length;
    // Once no item is pending or running in the stored record, nothing is left that could send.
    const ex = await waitFor(async () => {
      const now = (await t.api('GET', `/api/v1/executions/${id}`)).body;
      const counts = now.steps[0].iterations;
      return counts.pending + counts.running === 0 ? now : null;
    }, 10_000);
    // At most the attempt in flight at the cancel arrives after it.
    expect(rx.at('/slow').length).toBeLessThanOrEqual(sent + 1);
    const c = ex.steps[0].iterations;
    expect(c.total).toBe(30);
    expect(c.pending + c.running).toBe(0);
    expect(c.succeeded + c.cancelled).toBe(30);
    expect(c.succeeded).toBeLessThanOrEqual(rx.at('/slow').length);
    expect(c.cancelled).toBeGreaterThanOrEqual(20);
  });

  it('Redis losing every job mid-loop loses no item (the reconciler re-adds item jobs)', async () => {
    rx.script('/wiped', [{ status: 200, delayMs: 150 }]);
    const { hook } = await createFlow(t, {
      steps: [
        { id: 'wipe', type: 'forEach', items: '[0..39]', concurrency: 4, steps: [post('w', '/wiped')] },
      ],
    });
    const accepted = await fire(hook, {});
    await waitFor(() => rx.at('/wiped').length >= 8, 10_000);
    const queue = t.app.get<Queue>(getQueueToken(STEPS_QUEUE));
    // No new job is taken; the attempts in flight end and claim the next items, whose jobs wait.
    // Then everything of ours in Redis is gone, as after a restart of a Redis that keeps nothing.
    await queue.pause(true);
    await waitFor(async () => (await queue.getWaitingCount()) >= 4, 10_000);
    const keys = await queue.client.keys(`${process.env.QUEUE_PREFIX ?? 'hookflow'}:*`);
    await queue.client.del(...keys);
    expect(await queue.getWaitingCount()).toBe(0);
    await queue.resume(true);
    const ex = await finished(t, accepted.body.executionId, 30_000);
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0].iterations).toMatchObject({ total: 40, succeeded: 40 });
    const got = rx.at('/wiped').map((r) => (r.json as any).i);
    expect(new Set(got).size).toBe(40);
    // At least once: only an attempt in flight at the wipe may have been sent twice.
    expect(got.length).toBeLessThanOrEqual(40 + 4);
    expect(ex.steps[0].output).toHaveLength(40);
  });

  it('a dry run shows the number of items and the previews of the first 10; nothing is sent', async () => {
    const res = await t.api('POST', '/api/v1/flows/test', {
      definition: {
        name: 'dry loop',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'dry',
            type: 'forEach',
            items: 'event.body.list',
            steps: [
              { id: 'twice', type: 'transform', expression: 'item * 2' },
              post('send', '/dry', { body: { v: '{{ steps.twice }}', at: '{{ loops.dry.index }}' } }),
            ],
          },
        ],
      },
      event: { body: { list: Array.from({ length: 12 }, (_, i) => i) } },
    });
    expect(res.status).toBe(200);
    const dry = res.body.steps[0];
    expect(dry).toMatchObject({ id: 'dry', status: 'would_run', total: 12 });
    expect(dry.iterations).toHaveLength(10);
    expect(dry.iterations[3]).toMatchObject({
      index: 3,
      item: 3,
      steps: [
        { id: 'twice', status: 'would_run', output: 6 },
        { id: 'send', status: 'would_run', request: { method: 'POST', body: { v: 6, at: 3 } } },
      ],
    });
    expect(rx.at('/dry')).toHaveLength(0);
  });

  it('rejects loops nested more than 4 levels and bad loop settings with their field paths', async () => {
    const res = await t.api('POST', '/api/v1/flows', {
      name: 'bad loops',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'a',
          type: 'forEach',
          items: '[1]',
          concurrency: 51,
          steps: [
            {
              id: 'b',
              type: 'branch',
              cases: [{ when: 'true', steps: [{ id: 'c', type: 'forEach', items: '[1]', steps: [] }] }],
            },
          ],
        },
        { id: 'd', type: 'forEach', items: '[1', steps: [{ id: 'e', type: 'http', method: 'POST' }] },
      ],
    });
    expect(res.status).toBe(400);
    const messages: string[] = res.body.message;
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^steps\[0\]\.concurrency must not be greater than 50/),
        expect.stringMatching(/^steps\[1\]\.steps\[0\]\.url/),
      ]),
    );
    // Loops nest (a forEach in a branch in a forEach), up to 4 levels of branch/forEach: a fifth is refused.
    const loopIn = (id: string, steps: unknown[]) => ({ id, type: 'forEach', items: '[1]', steps });
    const caseOf = (id: string, steps: unknown[]) => ({ id, type: 'branch', cases: [{ when: 'true', steps }] });
    const deep = await t.api('POST', '/api/v1/flows', {
      name: 'too deep',
      trigger: { type: 'webhook' },
      steps: [loopIn('a', [caseOf('b', [loopIn('c', [caseOf('d', [loopIn('e', [])])])])])],
    });
    expect(deep.status).toBe(400);
    expect(deep.body.message).toEqual([
      'steps[0].steps[0].cases[0].steps[0].steps[0].cases[0].steps[0]: branches and loops nest at most 4 levels deep',
    ]);
  });
});
