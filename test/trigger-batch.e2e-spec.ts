import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { randomUUID } from 'node:crypto';
import { closeBatchJobId, STEPS_QUEUE } from 'src/queue/queue.constants';
import { bootApp, fire, TestApp } from './support/app';
import { createFlow, finished } from './support/flow-runs';
import { Receiver } from './support/receiver';
import { inParallel } from './support/slow-receiver';
import { sleep, waitFor } from './support/wait-for';

describe('trigger batch: one execution per group, closed by size or time, exactly once', () => {
  let t: TestApp;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await bootApp();
  });
  afterAll(async () => {
    await t.close();
    await rx.stop();
  });

  /** A step that posts the batch's bodies to the receiver at `path` (each test its own path). */
  const deliver = (path: string): Record<string, unknown> => ({
    id: 'deliver',
    type: 'http',
    method: 'POST',
    url: `${rx.url}${path}`,
    body: { bodies: '{{ event.body }}', type: '{{ event.type }}' },
  });

  async function executionsOf(flowId: string): Promise<any[]> {
    const res = await t.api('GET', `/api/v1/executions?flowId=${flowId}&limit=100`);
    expect(res.status).toBe(200);
    return res.body.items as any[];
  }

  it('refuses bad settings with a 400 naming the field, and batch on a schedule trigger', async () => {
    const bad = async (trigger: Record<string, unknown>): Promise<string[]> => {
      const res = await t.api('POST', '/api/v1/flows', { name: 'batch-bad', trigger, steps: [] });
      expect(res.status).toBe(400);
      return res.body.message as string[];
    };
    expect(await bad({ type: 'webhook', batch: { maxItems: 1, windowMs: 1000 } })).toEqual([
      'trigger.batch.maxItems must not be less than 2',
    ]);
    expect(await bad({ type: 'webhook', batch: { maxItems: 5, windowMs: 3_600_001 } })).toEqual([
      'trigger.batch.windowMs must not be greater than 3600000',
    ]);
    const key = await bad({ type: 'webhook', batch: { maxItems: 5, windowMs: 1000, key: 'event.body.(' } });
    expect(key).toHaveLength(1);
    expect(key[0]).toMatch(/^trigger\.batch\.key: /);
    expect(
      await bad({ type: 'schedule', cron: '0 0 * * *', batch: { maxItems: 5, windowMs: 1000 } }),
    ).toEqual([expect.stringContaining('trigger.batch is not available on a schedule trigger')]);
    expect(
      await bad({ type: 'webhook', response: { mode: 'sync' }, batch: { maxItems: 5, windowMs: 1000 } }),
    ).toEqual([expect.stringContaining('trigger.batch cannot be used with trigger.response.mode "sync"')]);
    // Saved as given, and read back.
    const ok = await createFlow(t, {
      trigger: { type: 'webhook', batch: { maxItems: 5, windowMs: 1000, key: 'event.body.k' } },
      steps: [],
    });
    expect(ok.flow.trigger.batch).toEqual({ maxItems: 5, windowMs: 1000, key: 'event.body.k' });
  });

  it('closes by size: 5 events with maxItems 5 are one execution with the 5 bodies in arrival order', async () => {
    const { id, hook } = await createFlow(t, {
      trigger: { type: 'webhook', batch: { maxItems: 5, windowMs: 600_000 } },
      steps: [deliver('/size')],
    });
    const answers = [];
    for (let n = 0; n < 5; n++) answers.push(await fire(hook, { n }));
    const executionId = answers[0].body.executionId as string;
    for (const a of answers) {
      expect(a.status).toBe(202);
      expect(a.body).toEqual({ executionId, status: 'batching' });
    }
    const run = await finished(t, executionId);
    expect(run.status).toBe('succeeded');
    expect(run.event).toEqual({
      id: expect.any(String),
      type: 'batch',
      receivedAt: run.event.events[0].receivedAt,
      body: [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }],
      events: expect.any(Array),
    });
    expect(run.event.events).toHaveLength(5);
    expect(run.event.events.map((e: any) => e.type)).toEqual(Array(5).fill('webhook'));
    expect(run.event.events[2].body).toEqual({ n: 2 });
    expect(rx.at('/size').map((r) => r.json)).toEqual([
      { bodies: [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }], type: 'batch' },
    ]);
    expect((await executionsOf(id)).map((e) => e.id)).toEqual([executionId]);
  });

  it('concurrent events fill groups exactly: 12 at once with maxItems 4 are 3 executions of 4', async () => {
    const { id, hook } = await createFlow(t, {
      trigger: { type: 'webhook', batch: { maxItems: 4, windowMs: 600_000 } },
      steps: [deliver('/parallel')],
    });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, n) => fire(hook, { n })));
    expect(answers.every((a) => a.status === 202 && a.body.status === 'batching')).toBe(true);
    const ids = [...new Set(answers.map((a) => a.body.executionId as string))];
    expect(ids).toHaveLength(3);
    for (const executionId of ids) expect((await finished(t, executionId)).status).toBe('succeeded');
    const delivered = rx.at('/parallel').map((r) => (r.json as any).bodies.map((b: any) => b.n));
    expect(delivered.map((d) => d.length)).toEqual([4, 4, 4]);
    expect(delivered.flat().sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    // Each answer names the group that holds its event.
    for (const [n, a] of answers.entries()) {
      const run = await t.api('GET', `/api/v1/executions/${a.body.executionId}`);
      expect(run.body.event.body).toContainEqual({ n });
    }
    expect(await executionsOf(id)).toHaveLength(3);
  });

  it('two app instances fill one key’s groups exactly: 400 events, maxItems 100 → 4 executions of 100', async () => {
    const second = await bootApp();
    try {
      const { id, hook } = await createFlow(t, {
        trigger: { type: 'webhook', batch: { maxItems: 100, windowMs: 600_000 } },
        steps: [deliver('/two-apps')],
      });
      const hooks = [hook, hook.replace(t.url, second.url)];
      const started = Date.now();
      const answers = await inParallel([...Array(400).keys()], 20, (n) => fire(hooks[n % 2], { n }));
      const ms = Date.now() - started;
      expect(answers.every((a) => a.status === 202 && a.body.status === 'batching')).toBe(true);
      const groups = [...new Set(answers.map((a) => a.body.executionId as string))];
      expect(groups).toHaveLength(4);
      const runs = await Promise.all(groups.map((g) => finished(t, g, 30_000)));
      expect(runs.map((r) => r.status)).toEqual(Array(4).fill('succeeded'));
      expect(runs.map((r) => r.event.body.length)).toEqual([100, 100, 100, 100]);
      const all = runs.flatMap((r) => r.event.body.map((b: { n: number }) => b.n));
      expect(all.sort((a, b) => a - b)).toEqual([...Array(400).keys()]);
      // Each event is in the group its answer named.
      for (const [n, a] of answers.entries()) {
        const run = runs[groups.indexOf(a.body.executionId as string)];
        expect(run.event.body).toContainEqual({ n });
      }
      expect(await executionsOf(id)).toHaveLength(4);
      expect(rx.at('/two-apps')).toHaveLength(4);
      console.log(
        `batch intake into one key from two apps: 400 events in ${ms} ms (${Math.round((400 * 1000) / ms)}/s, 20 in flight)`,
      );
    } finally {
      await second.close();
    }
  });

  it('closes by time: windowMs after the first event, with the events that came meanwhile', async () => {
    const { hook } = await createFlow(t, {
      trigger: { type: 'webhook', batch: { maxItems: 100, windowMs: 300 } },
      steps: [deliver('/time')],
    });
    const a = await fire(hook, { n: 'a' });
    const b = await fire(hook, { n: 'b' });
    expect(b.body).toEqual({ executionId: a.body.executionId, status: 'batching' });
    const run = await finished(t, a.body.executionId as string, 15_000);
    expect(run.status).toBe('succeeded');
    expect(run.event.body).toEqual([{ n: 'a' }, { n: 'b' }]);
    // A later event starts a new group.
    const c = await fire(hook, { n: 'c' });
    expect(c.body.executionId).not.toBe(a.body.executionId);
    expect((await finished(t, c.body.executionId as string, 15_000)).event.body).toEqual([{ n: 'c' }]);
  });

  it('shows the group as batching in GET /executions/{id}, with the events gathered so far', async () => {
    const { hook } = await createFlow(t, {
      trigger: { type: 'webhook', batch: { maxItems: 10, windowMs: 60_000 } },
      steps: [deliver('/visible')],
    });
    const first = await fire(hook, { n: 1 });
    await fire(hook, { n: 2 });
    const executionId = first.body.executionId as string;
    const open = await t.api('GET', `/api/v1/executions/${executionId}`);
    expect(open.status).toBe(200);
    expect(open.body.status).toBe('batching');
    expect(open.body.event.type).toBe('batch');
    expect(open.body.event.body).toEqual([{ n: 1 }, { n: 2 }]);
    expect(open.body.steps).toEqual([expect.objectContaining({ id: 'deliver', status: 'pending' })]);
    const listed = await t.api('GET', `/api/v1/executions?status=batching&limit=100`);
    expect(listed.body.items.map((e: any) => e.id)).toContain(executionId);
    // A replay of the open group runs the events it holds so far, alone.
    const replay = await t.api('POST', `/api/v1/executions/${executionId}/replay`);
    expect(replay.status).toBe(202);
    const replayed = await finished(t, replay.body.executionId as string);
    expect(replayed.status).toBe('succeeded');
    expect(replayed.event.body).toEqual([{ n: 1 }, { n: 2 }]);
    // A cancel ends the group with what it had; the next event opens a new one.
    const cancelled = await t.api('POST', `/api/v1/executions/${executionId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.event.body).toEqual([{ n: 1 }, { n: 2 }]);
    const next = await fire(hook, { n: 3 });
    expect(next.body.executionId).not.toBe(executionId);
    expect(next.body.status).toBe('batching');
    expect(rx.at('/visible').map((r) => r.json)).toEqual([{ bodies: [{ n: 1 }, { n: 2 }], type: 'batch' }]);
  });

  it('groups per key value: each key its own execution, bodies in arrival order', async () => {
    const { hook } = await createFlow(t, {
      trigger: { type: 'webhook', batch: { maxItems: 3, windowMs: 600_000, key: 'event.body.k' } },
      steps: [deliver('/keys')],
    });
    const answers: Record<string, string[]> = { a: [], b: [] };
    for (let n = 0; n < 3; n++) {
      for (const k of ['a', 'b']) answers[k].push((await fire(hook, { k, n })).body.executionId as string);
    }
    expect(new Set(answers.a).size).toBe(1);
    expect(new Set(answers.b).size).toBe(1);
    expect(answers.a[0]).not.toBe(answers.b[0]);
    const a = await finished(t, answers.a[0]);
    const b = await finished(t, answers.b[0]);
    expect(a.event.body).toEqual([0, 1, 2].map((n) => ({ k: 'a', n })));
    expect(b.event.body).toEqual([0, 1, 2].map((n) => ({ k: 'b', n })));
  });

  it('checks the idempotency key per event before it joins: a repeat is answered 200 and not added', async () => {
    const { hook } = await createFlow(t, {
      trigger: {
        type: 'webhook',
        idempotencyKey: 'event.body.id',
        batch: { maxItems: 3, windowMs: 600_000 },
      },
      steps: [deliver('/idem')],
    });
    const one = await fire(hook, { id: 'x1' });
    const again = await fire(hook, { id: 'x1' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ executionId: one.body.executionId, duplicate: true });
    await fire(hook, { id: 'x2' });
    await fire(hook, { id: 'x3' });
    const run = await finished(t, one.body.executionId as string);
    expect(run.event.body).toEqual([{ id: 'x1' }, { id: 'x2' }, { id: 'x3' }]);
    // Still a duplicate after the group ran.
    expect((await fire(hook, { id: 'x2' })).body).toEqual({
      executionId: one.body.executionId,
      duplicate: true,
    });
  });

  it('a batch key that fails on one event keeps that event as a failed execution; nothing else is hurt', async () => {
    const poison = await createFlow(t, {
      trigger: { type: 'webhook', batch: { maxItems: 2, windowMs: 600_000, key: '$number(event.body.k)' } },
      steps: [deliver('/poison')],
    });
    const other = await createFlow(t, {
      trigger: { type: 'webhook', batch: { maxItems: 2, windowMs: 600_000, key: 'event.body.k' } },
      steps: [deliver('/healthy')],
    });
    const [bad, good1, o1, good2, o2] = await Promise.all([
      fire(poison.hook, { k: 'not a number' }),
      fire(poison.hook, { k: '7', n: 1 }),
      fire(other.hook, { k: 'z', n: 1 }),
      fire(poison.hook, { k: '7', n: 2 }),
      fire(other.hook, { k: 'z', n: 2 }),
    ]);
    expect(bad.status).toBe(202);
    expect(bad.body.status).toBe('failed');
    const failed = await finished(t, bad.body.executionId as string);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^trigger\.batch\.key failed: /);
    expect(failed.event.body).toEqual({ k: 'not a number' });
    expect(good1.body.executionId).toBe(good2.body.executionId);
    expect(o1.body.executionId).toBe(o2.body.executionId);
    expect((await finished(t, good1.body.executionId as string)).event.body).toHaveLength(2);
    expect((await finished(t, o1.body.executionId as string)).event.body).toHaveLength(2);
    // A replay of the group runs its batch event again as one execution, not gathered into a new group.
    const replay = await t.api('POST', `/api/v1/executions/${good1.body.executionId}/replay`);
    expect(replay.status).toBe(202);
    const replayed = await finished(t, replay.body.executionId as string);
    expect(replayed.status).toBe('succeeded');
    expect(replayed.event.type).toBe('batch');
    expect(replayed.event.body).toHaveLength(2);
  });

  it('with flow concurrency, a closed group waits in line like any execution, keyed on its batch event', async () => {
    const { hook } = await createFlow(t, {
      trigger: { type: 'webhook', batch: { maxItems: 2, windowMs: 600_000 } },
      concurrency: { limit: 1, key: 'event.body[0].k' },
      steps: [deliver('/lined')],
    });
    const groups: string[] = [];
    for (let n = 0; n < 6; n++) groups.push((await fire(hook, { k: 'same', n })).body.executionId as string);
    const ids = [...new Set(groups)];
    expect(ids).toHaveLength(3);
    for (const id of ids) expect((await finished(t, id)).status).toBe('succeeded');
    // One key, limit 1: the groups ran one after another, in the order they closed.
    expect(rx.at('/lined').map((r) => (r.json as any).bodies.map((b: any) => b.n))).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
  });

  it('a dry run previews the steps on a batch of the one event, and shows a failing batch key', async () => {
    const definition = (key: string) => ({
      name: 'dry-batch',
      trigger: { type: 'webhook', batch: { maxItems: 10, windowMs: 1000, key } },
      steps: [
        { id: 'count', type: 'transform', expression: '{"n": $count(event.body), "type": event.type}' },
      ],
    });
    const ok = await t.api('POST', '/api/v1/flows/test', {
      definition: definition('event.body.k'),
      event: { body: { k: 1 } },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.filter).toEqual({ matched: true });
    expect(ok.body.steps[0]).toMatchObject({ status: 'would_run', output: { n: 1, type: 'batch' } });
    const bad = await t.api('POST', '/api/v1/flows/test', {
      definition: definition("$error('no key here')"),
      event: { body: { k: 1 } },
    });
    expect(bad.status).toBe(200);
    expect(bad.body.filter).toEqual({
      matched: false,
      error: expect.stringMatching(/^trigger\.batch\.key failed: /),
    });
    expect(bad.body.steps[0].status).toBe('skipped');
  });

  it('batches events of an event trigger: POST /events answers with the group execution', async () => {
    const type = `batch.${randomUUID()}`;
    await createFlow(t, {
      trigger: { type: 'event', event: type, batch: { maxItems: 2, windowMs: 600_000 } },
      steps: [deliver('/events')],
    });
    const a = await t.api('POST', '/api/v1/events', { type, data: { n: 1 } });
    const b = await t.api('POST', '/api/v1/events', { type, data: { n: 2 } });
    expect(a.status).toBe(202);
    expect(a.body.executionIds).toHaveLength(1);
    expect(b.body.executionIds).toEqual(a.body.executionIds);
    const run = await finished(t, a.body.executionIds[0] as string);
    expect(run.status).toBe('succeeded');
    expect(run.event.body).toEqual([{ n: 1 }, { n: 2 }]);
    expect(run.event.events.map((e: any) => e.name)).toEqual([type, type]);
    // A repeated idempotency key on the bus answers the first result, naming the group.
    const key = randomUUID();
    const c = await t.api('POST', '/api/v1/events', { type, data: { n: 3 }, idempotencyKey: key });
    const again = await t.api('POST', '/api/v1/events', { type, data: { n: 3 }, idempotencyKey: key });
    expect(again.status).toBe(200);
    expect(again.body.executionIds).toEqual(c.body.executionIds);
  });

  it('a group whose close job was lost (Redis wiped) is closed by the reconciler, once', async () => {
    const { id, hook } = await createFlow(t, {
      trigger: { type: 'webhook', batch: { maxItems: 50, windowMs: 200 } },
      steps: [deliver('/lost')],
    });
    const a = await fire(hook, { n: 1 });
    const executionId = a.body.executionId as string;
    const queue = t.app.get<Queue>(getQueueToken(STEPS_QUEUE));
    const job = await waitFor(() => queue.getJob(closeBatchJobId(executionId)), 5000);
    await job.remove();
    // Past its window and still open: nothing but the reconciler's sweep can close it now.
    await sleep(500);
    expect((await t.api('GET', `/api/v1/executions/${executionId}`)).body.status).toBe('batching');
    const run = await finished(t, executionId, 30_000);
    expect(run.status).toBe('succeeded');
    expect(run.event.body).toEqual([{ n: 1 }]);
    expect(rx.at('/lost')).toHaveLength(1);
    expect(await executionsOf(id)).toHaveLength(1);
  });

  it('a restart loses no group and no member: the group closes once after the app comes back', async () => {
    const { id, hook } = await createFlow(t, {
      trigger: { type: 'webhook', batch: { maxItems: 50, windowMs: 1500 } },
      steps: [deliver('/restart')],
    });
    const a = await fire(hook, { n: 1 });
    const b = await fire(hook, { n: 2 });
    expect(b.body.executionId).toBe(a.body.executionId);
    await t.close();
    t = await bootApp();
    const run = await finished(t, a.body.executionId as string, 30_000);
    expect(run.status).toBe('succeeded');
    expect(run.event.body).toEqual([{ n: 1 }, { n: 2 }]);
    // Once: one delivery and one execution, also after the reconciler has had its passes.
    await waitFor(() => rx.at('/restart').length >= 1, 10_000);
    await sleep(2500);
    expect(rx.at('/restart')).toHaveLength(1);
    expect((await executionsOf(id)).map((e) => e.id)).toEqual([a.body.executionId]);
  });
});
