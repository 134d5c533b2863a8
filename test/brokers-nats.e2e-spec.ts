import { randomBytes } from 'node:crypto';
import {
  AckPolicy,
  connect,
  DeliverPolicy,
  headers,
  type JetStreamManager,
  type NatsConnection,
  nanos,
} from 'nats';
import { Client } from 'pg';
import { bootApp, TestApp } from './support/app';
import { sleep, waitFor } from './support/wait-for';
import { executionCount, triggerStatus } from './support/flow-state';

const NATS_URL = 'nats://127.0.0.1:4222';
/** 200 rather than the 1,000 to keep CI time sane; bench/ drives the larger volumes. */
const N = 200;

describe('nats trigger: JetStream durable consumers (acked after the commit) and core NATS queue groups', () => {
  let t: TestApp;
  let db: Client;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const streams: string[] = [];

  beforeAll(async () => {
    t = await bootApp();
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    nc = await connect({ servers: '127.0.0.1:4222' });
    jsm = await nc.jetstreamManager();
  });
  afterAll(async () => {
    for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
    await nc.close();
    await db.end();
    await t.close();
  });

  /** A stream of its own per test, on subjects `<prefix>.>`. */
  async function newStream(duplicateWindowMs = 120_000): Promise<{ stream: string; prefix: string }> {
    const tag = randomBytes(5).toString('hex');
    const stream = `HF_TEST_${tag}`;
    const prefix = `hftest.${tag}`;
    await jsm.streams.add({
      name: stream,
      subjects: [`${prefix}.>`],
      duplicate_window: nanos(duplicateWindowMs),
    });
    streams.push(stream);
    return { stream, prefix };
  }

  async function createFlow(trigger: Record<string, unknown>): Promise<string> {
    const res = await t.api('POST', '/api/v1/flows', {
      name: 'nats',
      trigger: { type: 'nats', url: NATS_URL, ...trigger },
      steps: [{ id: 'echo', type: 'transform', expression: "{ 'n': event.body.n }" }],
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  const count = (flowId: string): Promise<number> => executionCount(db, flowId);

  const status = (flowId: string): Promise<any> => triggerStatus(t, flowId);

  function publishJs(subject: string, body: unknown, msgID?: string): Promise<unknown> {
    const h = headers();
    h.set('X-Tenant', 'acme');
    return nc.jetstream().publish(subject, JSON.stringify(body), { msgID, headers: h });
  }

  it('turns each of N stream messages into exactly one execution and acks each after its commit', async () => {
    const { stream, prefix } = await newStream();
    for (let i = 0; i < N; i++) await publishJs(`${prefix}.orders`, { n: i }, `n-${i}`);
    const flowId = await createFlow({ subject: `${prefix}.>`, stream, durable: 'hookflow' });
    await waitFor(async () => (await count(flowId)) === N, 60_000, 200);

    const { rows } = await db.query(
      `SELECT event FROM executions WHERE flow_id = $1 ORDER BY (event->'body'->>'n')::int`,
      [flowId],
    );
    expect(rows.map((r) => r.event.body.n)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(rows[3].event).toEqual({
      id: expect.any(String),
      type: 'nats',
      receivedAt: expect.any(String),
      headers: { 'x-tenant': 'acme', 'nats-msg-id': 'n-3' },
      source: { subject: `${prefix}.orders`, messageId: 'n-3', redelivered: false },
      body: { n: 3 },
    });
    await waitFor(async () => {
      const info = await jsm.consumers.info(stream, 'hookflow');
      return info.num_ack_pending === 0 && info.num_pending === 0;
    }, 10_000);
    expect(await status(flowId)).toEqual({ state: 'connected', since: expect.any(String) });
  });

  it('holds the ack while the commit waits; a redelivery meanwhile starts no second execution', async () => {
    const { stream, prefix } = await newStream();
    // A short ack wait, so JetStream redelivers while the first delivery's commit is still blocked.
    await jsm.consumers.add(stream, {
      durable_name: 'slow',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(1_000),
    });
    const flowId = await createFlow({ subject: `${prefix}.>`, stream, durable: 'slow' });
    await waitFor(async () => (await status(flowId))?.state === 'connected', 10_000);
    const blocker = new Client({ connectionString: process.env.DATABASE_URL });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE executions IN SHARE MODE');
      await publishJs(`${prefix}.x`, { n: 1 });
      await waitFor(async () => (await jsm.consumers.info(stream, 'slow')).num_redelivered >= 1, 10_000);
      const info = await jsm.consumers.info(stream, 'slow');
      expect(info.num_ack_pending).toBe(1);
      const { rows } = await blocker.query('SELECT count(*)::int AS n FROM executions WHERE flow_id = $1', [
        flowId,
      ]);
      expect(rows[0].n).toBe(0);
      await blocker.query('COMMIT');
    } finally {
      await blocker.end();
    }
    await waitFor(async () => (await count(flowId)) === 1, 10_000);
    await waitFor(async () => (await jsm.consumers.info(stream, 'slow')).num_ack_pending === 0, 10_000);
    await sleep(1_500);
    expect(await count(flowId)).toBe(1);
  });

  it('starts nothing for a message whose Nats-Msg-Id was already stored', async () => {
    // The stream's own duplicate window is tiny, so the repeat reaches the consumer.
    const { stream, prefix } = await newStream(100);
    const flowId = await createFlow({ subject: `${prefix}.>`, stream, durable: 'hookflow' });
    await publishJs(`${prefix}.x`, { n: 1 }, 'same');
    await waitFor(async () => (await count(flowId)) === 1, 10_000);
    await sleep(300);
    await publishJs(`${prefix}.x`, { n: 1 }, 'same');
    await publishJs(`${prefix}.x`, { n: 2 }, 'next');
    await waitFor(async () => (await count(flowId)) === 2, 10_000);
    await waitFor(async () => {
      const info = await jsm.consumers.info(stream, 'hookflow');
      return info.num_ack_pending === 0 && info.num_pending === 0;
    }, 10_000);
    expect(await count(flowId)).toBe(2);
  });

  it('stops consuming when disabled (messages stay in the stream) and resumes when enabled', async () => {
    const { stream, prefix } = await newStream();
    const flowId = await createFlow({ subject: `${prefix}.>`, stream, durable: 'hookflow' });
    await waitFor(async () => (await status(flowId))?.state === 'connected', 10_000);
    expect((await t.api('PATCH', `/api/v1/flows/${flowId}`, { enabled: false })).status).toBe(200);
    await sleep(2_000);
    for (let i = 0; i < 10; i++) await publishJs(`${prefix}.x`, { n: i });
    await sleep(1_500);
    expect(await count(flowId)).toBe(0);
    expect((await jsm.consumers.info(stream, 'hookflow')).num_pending).toBe(10);
    expect((await t.api('PATCH', `/api/v1/flows/${flowId}`, { enabled: true })).status).toBe(200);
    await waitFor(async () => (await count(flowId)) === 10, 15_000);
  });

  it('core NATS: a queue-group subscription turns each published message into one execution', async () => {
    const subject = `hftest.core.${randomBytes(5).toString('hex')}`;
    const flowId = await createFlow({ subject });
    await waitFor(async () => (await status(flowId))?.state === 'connected', 10_000);
    for (let i = 0; i < N; i++) nc.publish(subject, JSON.stringify({ n: i }));
    await nc.flush();
    await waitFor(async () => (await count(flowId)) === N, 30_000, 200);
    const { rows } = await db.query(`SELECT event FROM executions WHERE flow_id = $1 LIMIT 1`, [flowId]);
    expect(rows[0].event.source).toEqual({ subject });
  });

  it('reports a missing stream as an error', async () => {
    const flowId = await createFlow({
      subject: 'hftest.none',
      stream: `HF_MISSING_${randomBytes(4).toString('hex')}`,
      durable: 'd',
    });
    const s = await waitFor(async () => {
      const st = await status(flowId);
      return st?.state === 'error' ? st : null;
    }, 10_000);
    expect(s.error).toMatch(/stream not found/i);
  });
});
