import { bootApp, fire, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { createFlow, finished, runToEnd } from './support/flow-runs';
import { waitFor } from './support/wait-for';

/** A forEach inside a forEach (API.md section 3): one run of the inner loop per outer item. */
describe('control flow: a loop inside a loop', () => {
  let t: TestApp;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await bootApp({ RECONCILE_AFTER_MS: '300' });
  });
  afterAll(async () => {
    await t.close();
    await rx.stop();
  });

  async function items(id: string, step: string): Promise<any[]> {
    const page = await t.api('GET', `/api/v1/executions/${id}/iterations?limit=200&step=${step}`);
    expect(page.status).toBe(200);
    return page.body.items;
  }

  const repos = [
    { name: 'api', commits: ['a1', 'a2', 'a3'] },
    { name: 'web', commits: [] },
    { name: 'cli', commits: ['c1', 'c2'] },
  ];

  const pushFlow = (path: string) => ({
    steps: [
      {
        id: 'repos',
        type: 'forEach',
        items: 'event.body.repos',
        concurrency: 2,
        steps: [
          { id: 'label', type: 'transform', expression: "$uppercase(item.name) & '#' & index" },
          {
            id: 'commits',
            type: 'forEach',
            items: 'item.commits',
            concurrency: 3,
            steps: [
              {
                id: 'post',
                type: 'http',
                method: 'POST',
                url: `${rx.url}${path}`,
                body: {
                  repo: '{{ loops.repos.item.name }}',
                  outer: '{{ loops.repos.index }}',
                  label: '{{ steps.label }}',
                  sha: '{{ item }}',
                  at: '{{ index }}',
                },
              },
              { id: 'sent', type: 'transform', expression: "loops.repos.item.name & '/' & item" },
            ],
          },
        ],
      },
      { id: 'total', type: 'transform', expression: '$count($reduce(steps.repos, $append, []))' },
    ],
  });

  it('runs the inner loop once per outer item: every item delivered once, outputs nested in item order', async () => {
    const { hook } = await createFlow(t, pushFlow('/nested'));
    const ex = await runToEnd(t, hook, { repos });
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0]).toMatchObject({
      id: 'repos',
      status: 'succeeded',
      iterations: { total: 3, succeeded: 3, failed: 0 },
      output: [['api/a1', 'api/a2', 'api/a3'], [], ['cli/c1', 'cli/c2']],
    });
    expect(ex.steps[1].output).toBe(5);
    const got = rx
      .at('/nested')
      .map((r) => r.json as any)
      .sort((a, b) => `${a.outer}${a.at}`.localeCompare(`${b.outer}${b.at}`));
    expect(got).toEqual([
      { repo: 'api', outer: 0, label: 'API#0', sha: 'a1', at: 0 },
      { repo: 'api', outer: 0, label: 'API#0', sha: 'a2', at: 1 },
      { repo: 'api', outer: 0, label: 'API#0', sha: 'a3', at: 2 },
      { repo: 'cli', outer: 2, label: 'CLI#2', sha: 'c1', at: 0 },
      { repo: 'cli', outer: 2, label: 'CLI#2', sha: 'c2', at: 1 },
    ]);

    // The outer items show their inner loop's record with its counters ...
    const outer = await items(ex.id, 'repos');
    expect(outer.map((it) => it.steps[1].iterations)).toEqual([
      { total: 3, succeeded: 3, failed: 0, running: 0, pending: 0, cancelled: 0 },
      { total: 0, succeeded: 0, failed: 0, running: 0, pending: 0, cancelled: 0 },
      { total: 2, succeeded: 2, failed: 0, running: 0, pending: 0, cancelled: 0 },
    ]);
    // ... and each run of the inner loop pages its own items.
    const inner = await items(ex.id, 'repos[2].commits');
    expect(inner.map((it) => [it.index, it.item, it.status, it.output])).toEqual([
      [0, 'c1', 'succeeded', 'cli/c1'],
      [1, 'c2', 'succeeded', 'cli/c2'],
    ]);
    expect(inner[0].steps[0]).toMatchObject({ id: 'post', status: 'succeeded', attempts: [{ n: 1 }] });

    const bad = await t.api('GET', `/api/v1/executions/${ex.id}/iterations?step=commits`);
    expect(bad.status).toBe(400);
    expect(bad.body.message[0]).toContain('repos[<index>].commits');
    const noStep = await t.api('GET', `/api/v1/executions/${ex.id}/iterations`);
    expect(noStep.status).toBe(400);
  });

  it('retry re-sends only the inner item that failed and those its failure cancelled', async () => {
    rx.script('/retry-nested/1/1', [{ status: 400 }, { status: 200 }]);
    const { hook } = await createFlow(t, {
      steps: [
        {
          id: 'outer',
          type: 'forEach',
          items: '[0, 1, 2]',
          onItemError: 'continue',
          steps: [
            {
              id: 'inner',
              type: 'forEach',
              items: '[0, 1, 2]',
              steps: [
                {
                  id: 'call',
                  type: 'http',
                  method: 'POST',
                  url: `${rx.url}/retry-nested/{{ loops.outer.index }}/{{ index }}`,
                  retry: { attempts: 1 },
                },
              ],
            },
          ],
        },
      ],
    });
    const failed = await runToEnd(t, hook, {});
    expect(failed.status).toBe('failed');
    expect(failed.steps[0].iterations).toMatchObject({ succeeded: 2, failed: 1 });
    const broken = await items(failed.id, 'outer[1].inner');
    expect(broken.map((it) => it.status)).toEqual(['succeeded', 'failed', 'cancelled']);

    const retried = await t.api('POST', `/api/v1/executions/${failed.id}/retry`);
    expect(retried.status).toBe(202);
    const done = await finished(t, failed.id);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].iterations).toMatchObject({ total: 3, succeeded: 3, failed: 0, cancelled: 0 });
    const counts = [0, 1, 2].map((o) => [0, 1, 2].map((i) => rx.at(`/retry-nested/${o}/${i}`).length));
    expect(counts).toEqual([
      [1, 1, 1],
      [1, 2, 1],
      [1, 1, 1],
    ]);
    expect((await items(done.id, 'outer[1].inner')).map((it) => it.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
  });

  it('cancel mid-run stops the inner items not started', async () => {
    rx.script('/nested-slow', [{ status: 200, delayMs: 150 }]);
    const { hook } = await createFlow(t, {
      steps: [
        {
          id: 'o',
          type: 'forEach',
          items: '[1..3]',
          steps: [
            {
              id: 'i',
              type: 'forEach',
              items: '[1..10]',
              steps: [{ id: 's', type: 'http', method: 'POST', url: `${rx.url}/nested-slow` }],
            },
          ],
        },
      ],
    });
    const accepted = await fire(hook, {});
    const id = accepted.body.executionId as string;
    await waitFor(() => rx.at('/nested-slow').length >= 2, 10_000);
    const cancelled = await t.api('POST', `/api/v1/executions/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const sent = rx.at('/nested-slow').length;
    // Once no item of the running inner loop is pending or running, nothing is left that could send.
    const inner = await waitFor(async () => {
      const its = await items(id, 'o[0].i');
      return its.some((it) => ['pending', 'running', 'waiting'].includes(it.status)) ? null : its;
    }, 10_000);
    expect(rx.at('/nested-slow').length).toBeLessThanOrEqual(sent + 1);
    expect(inner.filter((it) => it.status === 'cancelled').length).toBeGreaterThanOrEqual(5);
    const outer = await items(id, 'o');
    expect(outer.map((it) => it.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(await items(id, 'o[1].i')).toEqual([]);
  });

  it('a dry run previews the inner loop with loops.<outer id>.item', async () => {
    const res = await t.api('POST', '/api/v1/flows/test', {
      definition: { name: 'dry nested', trigger: { type: 'webhook' }, ...pushFlow('/dry-nested') },
      event: { body: { repos } },
    });
    expect(res.status).toBe(200);
    const first = res.body.steps[0].iterations[0];
    expect(first.steps[1]).toMatchObject({ id: 'commits', status: 'would_run', total: 3 });
    expect(first.steps[1].iterations[2].steps[0].request.body).toEqual({
      repo: 'api',
      outer: 0,
      label: 'API#0',
      sha: 'a3',
      at: 2,
    });
    expect(rx.at('/dry-nested')).toHaveLength(0);
  });
});
