import { connect, type Channel, type ChannelModel } from 'amqplib';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { bootApp, TestApp } from './support/app';
import { sleep, waitFor } from './support/wait-for';
import { executionCount, triggerStatus } from './support/flow-state';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
/** 200 rather than the 1,000 to keep CI time sane; bench/ drives the larger volumes. */
const N = 200;

/** Unacknowledged messages of a queue, from the broker itself (no management plugin needed). */
async function unacked(queue: string): Promise<number> {
  const { stdout } = await promisify(execFile)(
    'rabbitmqctl',
    ['list_queues', '-q', '--no-table-headers', 'name', 'messages_unacknowledged'],
    { timeout: 30_000 },
  );
  const line = stdout.split('\n').find((l) => l.split(/\s+/)[0] === queue);
  if (!line) throw new Error(`queue ${queue} not listed`);
  return Number(line.trim().split(/\s+/)[1]);
}

describe('amqp trigger: RabbitMQ messages become executions, acknowledged after the commit', () => {
  let t: TestApp;
  let db: Client;
  let amqp: ChannelModel;
  let ch: Channel;
  const queues: string[] = [];

  beforeAll(async () => {
    t = await bootApp();
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    amqp = await connect(AMQP_URL);
    ch = await amqp.createChannel();
  });
  afterAll(async () => {
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    await amqp.close();
    await db.end();
    await t.close();
  });

  async function newQueue(): Promise<string> {
    const q = `hookflow-test-${randomBytes(5).toString('hex')}`;
    await ch.assertQueue(q, { durable: false });
    queues.push(q);
    return q;
  }

  function publish(
    queue: string,
    body: unknown,
    messageId?: string,
    headers: Record<string, unknown> = {},
  ): void {
    ch.sendToQueue(queue, Buffer.from(JSON.stringify(body)), {
      messageId,
      headers,
      contentType: 'application/json',
    });
  }

  async function createFlow(queue: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await t.api('POST', '/api/v1/flows', {
      name: `amqp ${queue}`,
      trigger: { type: 'amqp', url: AMQP_URL, queue, prefetch: 16, ...extra },
      steps: [{ id: 'echo', type: 'transform', expression: "{ 'n': event.body.n }" }],
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  const count = (flowId: string): Promise<number> => executionCount(db, flowId);

  const status = (flowId: string): Promise<any> => triggerStatus(t, flowId);

  async function consumers(queue: string): Promise<number> {
    return (await ch.checkQueue(queue)).consumerCount;
  }

  it('turns each of N messages into exactly one execution with the event of API.md §11, and acks them all', async () => {
    const queue = await newQueue();
    for (let i = 0; i < N; i++) publish(queue, { n: i }, `m-${i}`, { 'X-Tenant': 'acme' });
    const flowId = await createFlow(queue);
    await waitFor(async () => (await count(flowId)) === N, 60_000, 200);

    const { rows } = await db.query(
      `SELECT event, status FROM executions WHERE flow_id = $1 ORDER BY (event->'body'->>'n')::int`,
      [flowId],
    );
    expect(rows.map((r) => r.event.body.n)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(new Set(rows.map((r) => r.event.source.messageId)).size).toBe(N);
    expect(rows[7].event).toEqual({
      id: expect.any(String),
      type: 'amqp',
      receivedAt: expect.any(String),
      headers: expect.objectContaining({
        'x-tenant': 'acme',
        'message-id': 'm-7',
        'content-type': 'application/json',
      }),
      source: { queue, messageId: 'm-7', redelivered: false },
      body: { n: 7 },
    });
    expect(await status(flowId)).toEqual({ state: 'connected', since: expect.any(String) });

    // A message the consumer held unacknowledged would go back to the queue when it stops.
    expect((await t.api('PATCH', `/api/v1/flows/${flowId}`, { enabled: false })).status).toBe(200);
    await waitFor(async () => (await consumers(queue)) === 0, 5_000);
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
    expect(await count(flowId)).toBe(N);
  });

  it('starts nothing for a message whose id was already stored, and acks it', async () => {
    const queue = await newQueue();
    const flowId = await createFlow(queue);
    publish(queue, { n: 1 }, 'once');
    await waitFor(async () => (await count(flowId)) === 1, 15_000);
    publish(queue, { n: 1 }, 'once');
    publish(queue, { n: 2 }, 'other');
    await waitFor(async () => (await count(flowId)) === 2, 15_000);
    await waitFor(async () => (await ch.checkQueue(queue)).messageCount === 0, 5_000);
    expect((await t.api('PATCH', `/api/v1/flows/${flowId}`, { enabled: false })).status).toBe(200);
    await waitFor(async () => (await consumers(queue)) === 0, 5_000);
    // Acked, not held: nothing went back to the queue, and no second execution for "once".
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
    expect(await count(flowId)).toBe(2);
  });

  it('stops consuming when the flow is disabled (messages stay in the queue) and resumes when enabled', async () => {
    const queue = await newQueue();
    const flowId = await createFlow(queue);
    await waitFor(async () => (await consumers(queue)) === 1, 10_000);
    expect((await t.api('PATCH', `/api/v1/flows/${flowId}`, { enabled: false })).status).toBe(200);
    await waitFor(async () => (await consumers(queue)) === 0, 2_500);
    for (let i = 0; i < 20; i++) publish(queue, { n: i }, `d-${i}`);
    await sleep(1_500);
    expect((await ch.checkQueue(queue)).messageCount).toBe(20);
    expect(await count(flowId)).toBe(0);
    expect((await t.api('GET', `/api/v1/flows/${flowId}`)).body.trigger.status).toBeUndefined();

    expect((await t.api('PATCH', `/api/v1/flows/${flowId}`, { enabled: true })).status).toBe(200);
    await waitFor(async () => (await count(flowId)) === 20, 15_000);
    expect((await t.api('DELETE', `/api/v1/flows/${flowId}`)).status).toBe(204);
    await waitFor(async () => (await consumers(queue)) === 0, 2_500);
  });

  it('acknowledges a message only after its execution is committed', async () => {
    const queue = await newQueue();
    const flowId = await createFlow(queue);
    await waitFor(async () => (await consumers(queue)) === 1, 10_000);
    const blocker = new Client({ connectionString: process.env.DATABASE_URL });
    await blocker.connect();
    try {
      // Inserts wait for this lock: the message is delivered but cannot be committed yet.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE executions IN SHARE MODE');
      publish(queue, { n: 1 }, 'held');
      await waitFor(async () => (await ch.checkQueue(queue)).messageCount === 0, 5_000);
      expect(await unacked(queue)).toBe(1);
      const { rows } = await blocker.query('SELECT count(*)::int AS n FROM executions WHERE flow_id = $1', [
        flowId,
      ]);
      expect(rows[0].n).toBe(0);
      await blocker.query('COMMIT');
    } finally {
      await blocker.end();
    }
    await waitFor(async () => (await count(flowId)) === 1, 10_000);
    await waitFor(async () => (await unacked(queue)) === 0, 20_000, 500);
  });

  it('reports a missing queue as an error and connects once it exists', async () => {
    const queue = `hookflow-test-${randomBytes(5).toString('hex')}`;
    const flowId = await createFlow(queue);
    const failing = await waitFor(async () => {
      const s = await status(flowId);
      return s?.state === 'error' ? s : null;
    }, 10_000);
    expect(failing.error).toMatch(/NOT_FOUND/);
    await ch.assertQueue(queue, { durable: false });
    queues.push(queue);
    await waitFor(async () => (await status(flowId))?.state === 'connected', 20_000);
  });

  it('refuses a broker host outside OUTBOUND_ALLOW (address guard), with no connection made', async () => {
    const res = await t.api('POST', '/api/v1/flows', {
      name: 'amqp guarded',
      trigger: { type: 'amqp', url: 'amqp://guest:guest@127.0.0.2:5672', queue: 'q' },
      steps: [],
    });
    expect(res.status).toBe(201);
    const s = await waitFor(async () => {
      const st = await status(res.body.id);
      return st?.state === 'error' ? st : null;
    }, 10_000);
    expect(s.error).not.toMatch(/guest/);
    expect(s.error).toMatch(/127\.0\.0\.2|not allowed|refus/i);
  });

  it('answers 400 for a URL built from the event, and for a bad prefetch', async () => {
    const res = await t.api('POST', '/api/v1/flows', {
      name: 'bad',
      trigger: { type: 'amqp', url: 'amqp://{{ event.body.host }}', queue: 'q', prefetch: 0 },
      steps: [],
    });
    expect(res.status).toBe(400);
    expect(res.body.message.join('\n')).toMatch(/trigger.url: .*\$secrets/);
    expect(res.body.message.join('\n')).toMatch(/trigger.prefetch/);
  });
});
