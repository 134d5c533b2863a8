import { Client } from 'pg';
import { bootApp, fire, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { sleep, waitFor } from './support/wait-for';

const failFast = { attempts: 1 };

describe('bulk operations: retry, replay and cancel by filter (API.md §12)', () => {
  let t: TestApp;
  let rx: Receiver;
  let db: Client;
  // Shared by the tests below, in order: the outage, its recovery, then the list filters.
  const flows: Record<string, string> = {};
  let early = '';
  let late = '';
  let from = '';
  let to = '';

  beforeAll(async () => {
    rx = await new Receiver().start();
    // Small, slow batches so that an operation is still running when a test cancels it.
    t = await bootApp({ OPERATION_BATCH_SIZE: '25', OPERATION_PAUSE_MS: '300' });
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await t.close();
    await rx.stop();
  });

  async function createFlow(name: string, steps: unknown[]): Promise<{ id: string; hook: string }> {
    const res = await t.api('POST', '/api/v1/flows', { name, trigger: { type: 'webhook' }, steps });
    expect(res.status).toBe(201);
    return { id: res.body.id, hook: `${t.url}/hooks/${res.body.trigger.token}` };
  }

  const deliver = (path: string) => [
    {
      id: 'deliver',
      type: 'http',
      method: 'POST',
      url: `${rx.url}${path}`,
      body: { ex: '{{ execution.id }}' },
      retry: failFast,
    },
  ];

  async function fireMany(hook: string, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(25, n - i) }, (_, k) => fire(hook, { n: i + k })),
      );
      for (const r of batch) {
        expect(r.status).toBe(202);
        ids.push(r.body.executionId);
      }
    }
    return ids;
  }

  async function count(flowId: string, status: string): Promise<number> {
    const { rows } = await db.query(
      'SELECT count(*)::int AS n FROM executions WHERE flow_id = $1 AND status = $2',
      [flowId, status],
    );
    return rows[0].n as number;
  }

  async function statusOf(id: string): Promise<string> {
    const { rows } = await db.query('SELECT status FROM executions WHERE id = $1', [id]);
    return rows[0]?.status as string;
  }

  async function ended(operationId: string, timeoutMs = 60_000): Promise<any> {
    return waitFor(async () => {
      const res = await t.api('GET', `/api/v1/operations/${operationId}`);
      return res.body?.status !== 'running' ? res.body : null;
    }, timeoutMs);
  }

  it('retries the 300 executions an outage failed, each delivered once, and touches nothing else', async () => {
    for (const path of ['/a', '/b']) rx.script(path, [{ status: 500 }]);
    rx.script('/c', [{ status: 400 }]);
    const a = await createFlow('outage a', deliver('/a'));
    const b = await createFlow('outage b', deliver('/b'));
    const c = await createFlow('bad request c', deliver('/c'));
    Object.assign(flows, { a: a.id, b: b.id, c: c.id });

    // Before the window: failed the same way, but not asked for.
    early = (await fire(a.hook, { early: true })).body.executionId;
    await waitFor(async () => (await statusOf(early)) === 'failed', 15_000);
    await sleep(20);
    from = new Date().toISOString();
    const outage = [...(await fireMany(a.hook, 150)), ...(await fireMany(b.hook, 150))];
    const unrelated = await fireMany(c.hook, 5);
    await waitFor(
      async () =>
        (await count(a.id, 'failed')) === 151 &&
        (await count(b.id, 'failed')) === 150 &&
        (await count(c.id, 'failed')) === 5,
      60_000,
      200,
    );
    await sleep(20);
    to = new Date().toISOString();
    await sleep(20);
    late = (await fire(a.hook, { late: true })).body.executionId;
    await waitFor(async () => (await statusOf(late)) === 'failed', 15_000);

    const filter = { status: ['failed'], from, to, error: 'http 500' };
    const dry = await t.api('POST', '/api/v1/executions/bulk', { action: 'retry', filter, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toEqual({ matched: 300 });
    const dryA = await t.api('POST', '/api/v1/executions/bulk', {
      action: 'retry',
      filter: { ...filter, flowId: a.id },
      dryRun: true,
    });
    expect(dryA.body).toEqual({ matched: 150 });
    const byStep = await t.api('POST', '/api/v1/executions/bulk', {
      action: 'retry',
      filter: { stepId: 'deliver', from, to },
      dryRun: true,
    });
    expect(byStep.body).toEqual({ matched: 305 });
    // Dry runs write no operation and no audit record (other suites' operations may be in the log).
    const bulkAudit = (await t.api('GET', '/api/v1/audit?action=execution.bulk&limit=200')).body.items;
    expect(bulkAudit.filter((r: any) => r.at >= from)).toEqual([]);

    // The receiver recovers.
    for (const path of ['/a', '/b']) rx.script(path, [{ status: 200, body: { ok: true } }]);
    const mark = rx.requests.length;
    const started = await t.api('POST', '/api/v1/executions/bulk', { action: 'retry', filter });
    expect(started.status).toBe(202);
    expect(started.body).toEqual({ operationId: expect.any(String), matched: 300 });
    const op = await ended(started.body.operationId);
    expect(op).toEqual({
      id: started.body.operationId,
      action: 'retry',
      filter,
      status: 'done',
      matched: 300,
      done: 300,
      failed: 0,
      createdAt: expect.any(String),
      finishedAt: expect.any(String),
    });

    await waitFor(
      async () => (await count(a.id, 'succeeded')) === 150 && (await count(b.id, 'succeeded')) === 150,
      60_000,
      200,
    );
    await sleep(300);
    const after = rx.requests.slice(mark);
    const perExecution = new Map<string, number>();
    for (const r of after) {
      const ex = (r.json as { ex: string }).ex;
      perExecution.set(ex, (perExecution.get(ex) ?? 0) + 1);
    }
    expect(perExecution.size).toBe(300);
    expect([...perExecution.keys()].sort()).toEqual([...outage].sort());
    expect([...perExecution.values()].every((n) => n === 1)).toBe(true);

    // Untouched: the failures outside the window or of another kind keep their one attempt.
    for (const id of [early, late, ...unrelated]) {
      const ex = await t.api('GET', `/api/v1/executions/${id}`);
      expect(ex.body.status).toBe('failed');
      expect(ex.body.steps[0].attempts).toHaveLength(1);
    }
    expect(rx.at('/c')).toHaveLength(5);

    const audit = await t.api('GET', '/api/v1/audit?action=execution.bulk&limit=200');
    expect(audit.body.items.filter((r: any) => r.target === `operation:${op.id}`)).toEqual([
      expect.objectContaining({
        actor: 'bootstrap',
        action: 'execution.bulk',
        target: `operation:${op.id}`,
        after: {
          operationId: op.id,
          action: 'retry',
          filter,
          status: 'done',
          matched: 300,
          done: 300,
          failed: 0,
        },
      }),
    ]);
    // No record per execution: the operation's one record stands for them.
    for (const flow of [a, b]) {
      const retried = await t.api('GET', `/api/v1/audit?action=execution.retried&flowId=${flow.id}`);
      expect(retried.body.items).toEqual([]);
    }
  });

  it('stops an operation cancelled midway: what was done stays done, nothing more is acted on', async () => {
    const opened = new Date();
    const started = await t.api('POST', '/api/v1/executions/bulk', {
      action: 'replay',
      filter: { flowId: flows.a, status: ['succeeded'] },
    });
    expect(started.body).toEqual({ operationId: expect.any(String), matched: 150 });
    const id = started.body.operationId;
    await waitFor(async () => (await t.api('GET', `/api/v1/operations/${id}`)).body.done >= 25, 30_000, 20);
    const cancelled = await t.api('POST', `/api/v1/operations/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id, status: 'cancelled', matched: 150, failed: 0 });
    expect(cancelled.body.finishedAt).toEqual(expect.any(String));
    const done = cancelled.body.done as number;
    expect(done).toBeGreaterThanOrEqual(25);
    expect(done).toBeLessThan(150);

    await sleep(1500);
    const later = await t.api('GET', `/api/v1/operations/${id}`);
    expect(later.body).toEqual(cancelled.body);
    const { rows } = await db.query(
      'SELECT count(*)::int AS n FROM executions WHERE flow_id = $1 AND created_at >= $2',
      [flows.a, opened],
    );
    expect(rows[0].n).toBe(done);
    const again = await t.api('POST', `/api/v1/operations/${id}/cancel`);
    expect(again.status).toBe(409);

    const audit = await t.api('GET', '/api/v1/audit?action=execution.bulk');
    const records = audit.body.items.filter((r: any) => r.target === `operation:${id}`);
    expect(records).toHaveLength(1);
    expect(records[0].after).toMatchObject({ status: 'cancelled', matched: 150, done, failed: 0 });
  });

  it('cancels waiting executions in bulk and leaves the others waiting', async () => {
    const wait = (path: string) => [
      { id: 'wait', type: 'delay', ms: 600_000 },
      { id: 'after', type: 'http', method: 'POST', url: `${rx.url}${path}` },
    ];
    const d = await createFlow('waits d', wait('/d'));
    const e = await createFlow('waits e', wait('/e'));
    flows.e = e.id;
    const ds = await fireMany(d.hook, 20);
    await fireMany(e.hook, 3);
    await waitFor(
      async () => (await count(d.id, 'waiting')) === 20 && (await count(e.id, 'waiting')) === 3,
      30_000,
      100,
    );

    const dry = await t.api('POST', '/api/v1/executions/bulk', {
      action: 'cancel',
      filter: { flowId: d.id },
      dryRun: true,
    });
    expect(dry.body).toEqual({ matched: 20 });
    const none = await t.api('POST', '/api/v1/executions/bulk', {
      action: 'cancel',
      filter: { flowId: d.id, status: ['failed'] },
      dryRun: true,
    });
    expect(none.body).toEqual({ matched: 0 });

    const started = await t.api('POST', '/api/v1/executions/bulk', {
      action: 'cancel',
      filter: { flowId: d.id, stepId: 'wait' },
    });
    expect(started.status).toBe(202);
    expect(started.body.matched).toBe(20);
    const op = await ended(started.body.operationId);
    expect(op).toMatchObject({ status: 'done', matched: 20, done: 20, failed: 0 });
    expect(await count(d.id, 'cancelled')).toBe(20);
    const one = await t.api('GET', `/api/v1/executions/${ds[0]}`);
    expect(one.body.steps.map((s: any) => s.status)).toEqual(['cancelled', 'cancelled']);
    expect(await count(e.id, 'waiting')).toBe(3);
    expect(rx.at('/d')).toHaveLength(0);
  });

  it('filters GET /executions by from, to and repeated status, page by page', async () => {
    const list = async (query: string): Promise<any> => {
      const res = await t.api('GET', `/api/v1/executions?${query}`);
      expect(res.status).toBe(200);
      return res.body;
    };
    const ids = (page: any): string[] => page.items.map((e: any) => e.id);
    const q = (s: string) => encodeURIComponent(s);

    expect(ids(await list(`flowId=${flows.a}&status=failed`))).toEqual([late, early]);
    expect(ids(await list(`flowId=${flows.a}&status=failed&status=cancelled`))).toEqual([late, early]);
    expect(ids(await list(`flowId=${flows.a}&status=failed&from=${q(from)}`))).toEqual([late]);
    expect(ids(await list(`flowId=${flows.a}&status=failed&to=${q(to)}`))).toEqual([early]);
    expect(ids(await list(`status=waiting&flowId=${flows.e}`))).toHaveLength(3);

    // The outage window, page by page: 150 of flow a (now succeeded), newest first, none twice.
    for (const filter of [`flowId=${flows.a}`, `flowId=${flows.a}&status=succeeded&status=failed`]) {
      const seen: any[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await list(
          `${filter}&from=${q(from)}&to=${q(to)}&limit=40${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(150);
      expect(new Set(seen.map((e) => e.id)).size).toBe(150);
      const times = seen.map((e) => Date.parse(e.createdAt));
      expect(times).toEqual([...times].sort((x, y) => y - x));
      expect(seen.every((e) => e.status === 'succeeded')).toBe(true);
    }

    for (const bad of [
      'status=nope',
      'status=failed&status=nope',
      'from=yesterday',
      `from=${q(to)}&to=${q(from)}`,
    ]) {
      const res = await t.api('GET', `/api/v1/executions?${bad}`);
      expect(res.status).toBe(400);
    }
  });

  it('answers 400 for a bad action, filter or field, and writes nothing', async () => {
    const before = await db.query(
      'SELECT (SELECT count(*) FROM operations)::int AS o, (SELECT count(*) FROM audit_log)::int AS a',
    );
    const bodies: Array<[unknown, string]> = [
      [{ action: 'delete', filter: {} }, 'action'],
      [{ action: 'retry' }, 'filter'],
      [{ action: 'retry', filter: [] }, 'filter'],
      [{ action: 'retry', filter: { status: 'failed' } }, 'filter.status'],
      [{ action: 'retry', filter: { status: ['broken'] } }, 'filter.status'],
      [{ action: 'retry', filter: { from: 'yesterday' } }, 'filter.from'],
      [{ action: 'retry', filter: { flowId: 'not-a-uuid' } }, 'filter.flowId'],
      [{ action: 'retry', filter: { nope: 1 } }, 'filter.nope'],
      [{ action: 'retry', filter: {}, extra: true }, 'extra'],
      [{ action: 'retry', filter: { from: to, to: from } }, 'filter.from'],
      [{ action: 'retry', filter: {}, dryRun: 'yes' }, 'dryRun'],
    ];
    for (const [body, field] of bodies) {
      const res = await t.api('POST', '/api/v1/executions/bulk', body);
      expect(res.status).toBe(400);
      expect(res.body.statusCode).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain(field);
    }
    const after = await db.query(
      'SELECT (SELECT count(*) FROM operations)::int AS o, (SELECT count(*) FROM audit_log)::int AS a',
    );
    expect(after.rows[0]).toEqual(before.rows[0]);

    const unknown = await t.api('GET', '/api/v1/operations/00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(
      (await t.api('POST', '/api/v1/operations/00000000-0000-4000-8000-000000000000/cancel')).status,
    ).toBe(404);
  });
});
