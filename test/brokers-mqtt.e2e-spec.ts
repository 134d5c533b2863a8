import { randomBytes } from 'node:crypto';
import { connectAsync, type IPublishPacket, type MqttClient } from 'mqtt';
import { Client } from 'pg';
import { bootApp, TestApp } from './support/app';
import { sleep, waitFor } from './support/wait-for';
import { executionCount, triggerStatus } from './support/flow-state';

const MQTT_URL = 'mqtt://127.0.0.1:1883';
/** 200 rather than the 1,000 to keep CI time sane; bench/ drives the larger volumes. */
const N = 200;

describe('mqtt trigger: a shared QoS 1 subscription whose PUBACK waits for the commit', () => {
  let t: TestApp;
  let db: Client;
  let pub: MqttClient;
  const flows: string[] = [];

  beforeAll(async () => {
    t = await bootApp();
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    pub = await connectAsync(MQTT_URL, {
      protocolVersion: 5,
      clientId: `hftest-pub-${randomBytes(4).toString('hex')}`,
    });
  });
  afterAll(async () => {
    // Deleting a flow drops its broker session, so the broker keeps nothing for these tests.
    for (const id of flows) await t.api('DELETE', `/api/v1/flows/${id}`);
    await sleep(500);
    await pub.endAsync();
    await db.end();
    await t.close();
  });

  const newTopic = (): string => `hftest/${randomBytes(5).toString('hex')}`;

  async function createFlow(topic: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await t.api('POST', '/api/v1/flows', {
      name: 'mqtt',
      trigger: { type: 'mqtt', url: MQTT_URL, topic, ...extra },
      steps: [{ id: 'echo', type: 'transform', expression: "{ 'n': event.body.n }" }],
    });
    expect(res.status).toBe(201);
    flows.push(res.body.id);
    await waitFor(async () => (await status(res.body.id))?.state === 'connected', 10_000);
    return res.body.id as string;
  }

  const count = (flowId: string): Promise<number> => executionCount(db, flowId);

  const status = (flowId: string): Promise<any> => triggerStatus(t, flowId);

  function publish(topic: string, body: unknown): Promise<unknown> {
    return pub.publishAsync(topic, JSON.stringify(body), {
      qos: 1,
      properties: { userProperties: { 'X-Tenant': 'acme' }, contentType: 'application/json' },
    });
  }

  it('turns each of N messages on a wildcard topic into exactly one execution with the event of API.md §11', async () => {
    const base = newTopic();
    const flowId = await createFlow(`${base}/+/temp`);
    await Promise.all(Array.from({ length: N }, (_, i) => publish(`${base}/s${i % 4}/temp`, { n: i })));
    await waitFor(async () => (await count(flowId)) === N, 60_000, 200);
    const { rows } = await db.query(
      `SELECT event FROM executions WHERE flow_id = $1 ORDER BY (event->'body'->>'n')::int`,
      [flowId],
    );
    expect(rows.map((r) => r.event.body.n)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(rows[5].event).toEqual({
      id: expect.any(String),
      type: 'mqtt',
      receivedAt: expect.any(String),
      headers: { 'x-tenant': 'acme', 'content-type': 'application/json' },
      source: { topic: `${base}/s1/temp`, redelivered: false },
      body: { n: 5 },
    });
  });

  it('dedupes by the trigger idempotencyKey (MQTT has no message id of its own)', async () => {
    const topic = newTopic();
    const flowId = await createFlow(topic, { idempotencyKey: 'event.body.id' });
    await publish(topic, { id: 'a', n: 1 });
    await publish(topic, { id: 'a', n: 1 });
    await publish(topic, { id: 'b', n: 2 });
    await waitFor(async () => (await count(flowId)) === 2, 10_000);
    await sleep(1_000);
    expect(await count(flowId)).toBe(2);
  });

  it('stops consuming when disabled; the broker keeps the messages for the session until enabled', async () => {
    const topic = newTopic();
    const flowId = await createFlow(topic);
    expect((await t.api('PATCH', `/api/v1/flows/${flowId}`, { enabled: false })).status).toBe(200);
    await sleep(2_000);
    for (let i = 0; i < 10; i++) await publish(topic, { n: i });
    await sleep(1_500);
    expect(await count(flowId)).toBe(0);
    expect((await t.api('PATCH', `/api/v1/flows/${flowId}`, { enabled: true })).status).toBe(200);
    await waitFor(async () => (await count(flowId)) === 10, 15_000);
  });

  it('sends no PUBACK before the commit: a blocked commit leaves the message with the broker', async () => {
    const topic = newTopic();
    const flowId = await createFlow(topic, { idempotencyKey: 'event.body.id' });
    const blocker = new Client({ connectionString: process.env.DATABASE_URL });
    await blocker.connect();
    let spy: MqttClient | undefined;
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE executions IN SHARE MODE');
      await publish(topic, { id: 'held', n: 1 });
      await sleep(1_000);
      // Take the consumer's session over: the broker hands the message it still holds, unacknowledged, to us.
      const received: IPublishPacket[] = [];
      spy = await connectAsync(MQTT_URL, {
        protocolVersion: 5,
        clientId: `hookflow-${flowId}-slot-0`,
        clean: false,
        properties: { sessionExpiryInterval: 86_400 },
        reconnectPeriod: 0,
        // Never acknowledge: the message stays with the session for hookflow to take back.
        customHandleAcks: (_topic, _payload, packet: IPublishPacket) => {
          received.push(packet);
        },
      });
      await waitFor(() => received.length > 0, 5_000);
      expect(JSON.parse(received[0].payload.toString())).toEqual({ id: 'held', n: 1 });
      expect(received[0].dup).toBe(true);
      const { rows } = await blocker.query('SELECT count(*)::int AS n FROM executions WHERE flow_id = $1', [
        flowId,
      ]);
      expect(rows[0].n).toBe(0);
      await blocker.query('COMMIT');
    } finally {
      await blocker.end();
      spy?.end(true);
    }
    await waitFor(async () => (await count(flowId)) === 1, 15_000);
    await waitFor(async () => (await status(flowId))?.state === 'connected', 15_000);
    await sleep(1_000);
    expect(await count(flowId)).toBe(1);
  });

  it('two instances share the subscription: one execution per message', async () => {
    const second = await bootApp();
    try {
      const topic = newTopic();
      const flowId = await createFlow(topic);
      // Both instances' consumers are on the shared subscription before anything is published.
      await sleep(2_500);
      await Promise.all(Array.from({ length: 100 }, (_, i) => publish(topic, { n: i })));
      await waitFor(async () => (await count(flowId)) === 100, 30_000, 200);
      await sleep(1_000);
      expect(await count(flowId)).toBe(100);
    } finally {
      await second.close();
    }
  });
});
