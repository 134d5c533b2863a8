import type { INestApplicationContext } from '@nestjs/common';
import { connect as amqpConnect, type Channel, type ChannelModel } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import { connect as natsConnect, type JetStreamManager, type NatsConnection } from 'nats';
import { Client } from 'pg';
import { createWorkerContext } from 'src/app';
import { loadConfig } from 'src/config/env';
import { bootApp, TEST_API_KEY, TEST_SECRETS_KEY, TestApp } from './support/app';
import { sleep, waitFor } from './support/wait-for';
import { executionCount } from './support/flow-state';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const MQTT_URL = 'mqtt://127.0.0.1:1883';
const NATS_URL = 'nats://127.0.0.1:4222';
/** API.md §11 promises 2 s; the waits allow more so that a loaded CI host does not fail them. */
const PROMISED_MS = 2_000;
const BOUND_MS = 8_000;

/**
 * A broker flow created, disabled, enabled, changed and deleted while the engine runs, in both
 * topologies: one MODE=all process (the change is seen at once, in process) and a MODE=api process
 * beside a MODE=worker one (the worker learns of it only from the flows table). Each broker: the
 * consumer starts on a flow created after boot, stops on disable (the messages stay with the
 * broker), resumes on enable, moves to the new queue / subject / topic on a trigger change, and
 * stops on delete.
 */
for (const topology of ['all', 'api+worker'] as const) {
  describe(`broker trigger lifecycle while the engine runs (${topology})`, () => {
    let api: TestApp;
    let worker: INestApplicationContext | undefined;
    let db: Client;
    let amqp: ChannelModel;
    let ch: Channel;
    let mqtt: MqttClient;
    let nc: NatsConnection;
    let jsm: JetStreamManager;
    const queues: string[] = [];
    const streams: string[] = [];
    const flows: string[] = [];
    /** Measured: how long each start or stop took (printed, not asserted tightly). */
    const timings: string[] = [];

    beforeAll(async () => {
      if (topology === 'all') {
        api = await bootApp();
      } else {
        api = await bootApp({ MODE: 'api' });
        worker = await createWorkerContext(
          loadConfig({
            ...process.env,
            API_KEY: TEST_API_KEY,
            SECRETS_KEY: TEST_SECRETS_KEY,
            OUTBOUND_ALLOW: '127.0.0.1/32',
            WORKER_THREADS: '0',
            MODE: 'worker',
          }),
        );
      }
      db = new Client({ connectionString: process.env.DATABASE_URL });
      await db.connect();
      amqp = await amqpConnect(AMQP_URL);
      ch = await amqp.createChannel();
      mqtt = await connectAsync(MQTT_URL, {
        protocolVersion: 5,
        clientId: `hftest-life-${randomBytes(4).toString('hex')}`,
      });
      nc = await natsConnect({ servers: '127.0.0.1:4222' });
      jsm = await nc.jetstreamManager();
    });
    afterAll(async () => {
      // Deleting a flow also drops its MQTT session, so the brokers keep nothing of these tests.
      for (const id of flows) await api.api('DELETE', `/api/v1/flows/${id}`);
      await sleep(1_500);
      for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
      for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
      await amqp.close().catch(() => undefined);
      await mqtt.endAsync().catch(() => undefined);
      await nc.close().catch(() => undefined);
      await db.end();
      await worker?.close();
      await api.close();
      console.log(`broker lifecycle (${topology}):\n  ${timings.join('\n  ')}`);
    });

    const tag = (): string => randomBytes(5).toString('hex');

    async function createFlow(trigger: Record<string, unknown>): Promise<string> {
      const res = await api.api('POST', '/api/v1/flows', {
        name: `lifecycle ${trigger.type as string}`,
        trigger,
        steps: [{ id: 'echo', type: 'transform', expression: "{ 'n': event.body.n }" }],
      });
      expect(res.status).toBe(201);
      flows.push(res.body.id);
      return res.body.id as string;
    }

    async function patch(flowId: string, body: Record<string, unknown>): Promise<void> {
      expect((await api.api('PATCH', `/api/v1/flows/${flowId}`, body)).status).toBe(200);
    }

    const count = (flowId: string): Promise<number> => executionCount(db, flowId);

    async function connected(flowId: string): Promise<boolean> {
      const flow = await api.api('GET', `/api/v1/flows/${flowId}`);
      return flow.body.trigger.status?.state === 'connected';
    }

    /** Waits (bounded) and records how long it took. */
    async function timed(what: string, check: () => Promise<boolean>): Promise<void> {
      const started = Date.now();
      await waitFor(check, BOUND_MS, 100);
      const ms = Date.now() - started;
      timings.push(`${what}: ${ms} ms${ms > PROMISED_MS ? ` (over the promised ${PROMISED_MS} ms)` : ''}`);
    }

    it('amqp: starts on a flow created after boot, stops on disable, resumes, follows a queue change, stops on delete', async () => {
      const [q1, q2] = [`hookflow-life-${tag()}`, `hookflow-life-${tag()}`];
      for (const q of [q1, q2]) {
        await ch.assertQueue(q, { durable: false });
        queues.push(q);
      }
      const consumers = async (q: string): Promise<number> => (await ch.checkQueue(q)).consumerCount;
      const publish = (q: string, n: number): void => {
        ch.sendToQueue(q, Buffer.from(JSON.stringify({ n })), { messageId: `${q}-${n}` });
      };

      const flowId = await createFlow({ type: 'amqp', url: AMQP_URL, queue: q1 });
      await timed('amqp start after create', async () => (await consumers(q1)) === 1);
      publish(q1, 0);
      await waitFor(async () => (await count(flowId)) === 1, BOUND_MS);

      await patch(flowId, { enabled: false });
      await timed('amqp stop after disable', async () => (await consumers(q1)) === 0);
      for (let n = 1; n <= 5; n++) publish(q1, n);
      await sleep(1_500);
      expect((await ch.checkQueue(q1)).messageCount).toBe(5);
      expect(await count(flowId)).toBe(1);

      await patch(flowId, { enabled: true });
      await timed('amqp start after enable', async () => (await consumers(q1)) === 1);
      await waitFor(async () => (await count(flowId)) === 6, BOUND_MS);

      await patch(flowId, { trigger: { type: 'amqp', url: AMQP_URL, queue: q2 } });
      await timed(
        'amqp move after a queue change',
        async () => (await consumers(q1)) === 0 && (await consumers(q2)) === 1,
      );
      publish(q1, 100);
      publish(q2, 200);
      await waitFor(async () => (await count(flowId)) === 7, BOUND_MS);
      await sleep(1_000);
      expect(await count(flowId)).toBe(7);
      expect((await ch.checkQueue(q1)).messageCount).toBe(1);

      expect((await api.api('DELETE', `/api/v1/flows/${flowId}`)).status).toBe(204);
      await timed('amqp stop after delete', async () => (await consumers(q2)) === 0);
    });

    it('nats (JetStream): starts after boot, stops on disable (messages stay in the stream), resumes, follows a subject change', async () => {
      const t = tag();
      const stream = `HF_LIFE_${t}`;
      await jsm.streams.add({ name: stream, subjects: [`hflife.${t}.>`] });
      streams.push(stream);
      const js = nc.jetstream();
      const publish = async (subject: string, n: number): Promise<void> => {
        await js.publish(`hflife.${t}.${subject}`, JSON.stringify({ n }));
      };

      const flowId = await createFlow({
        type: 'nats',
        url: NATS_URL,
        subject: `hflife.${t}.a`,
        stream,
        durable: `life-${t}`,
      });
      await timed('nats start after create', () => connected(flowId));
      await publish('a', 0);
      await waitFor(async () => (await count(flowId)) === 1, BOUND_MS);

      await patch(flowId, { enabled: false });
      // Nothing on the server shows a pull consumer's client leaving: the promise is checked by what
      // happens to messages published once it has passed.
      await sleep(PROMISED_MS);
      for (let n = 1; n <= 5; n++) await publish('a', n);
      await sleep(1_500);
      expect(await count(flowId)).toBe(1);
      expect((await jsm.consumers.info(stream, `life-${t}`)).num_pending).toBe(5);

      await patch(flowId, { enabled: true });
      await timed('nats resume after enable', async () => (await count(flowId)) === 6);

      // A new subject on the same durable: the durable's filter follows the trigger.
      await patch(flowId, {
        trigger: { type: 'nats', url: NATS_URL, subject: `hflife.${t}.b`, stream, durable: `life-${t}` },
      });
      await sleep(PROMISED_MS);
      await publish('a', 100);
      await publish('b', 200);
      await waitFor(async () => (await count(flowId)) === 7, BOUND_MS);
      await sleep(1_000);
      const { rows } = await db.query(
        `SELECT (event->'body'->>'n')::int AS n FROM executions WHERE flow_id = $1 ORDER BY 1`,
        [flowId],
      );
      expect(rows.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 200]);
      expect((await jsm.consumers.info(stream, `life-${t}`)).config.filter_subject).toBe(`hflife.${t}.b`);
    });

    it('mqtt: starts after boot, stops on disable (the session keeps the messages), resumes, follows a topic change', async () => {
      const t = tag();
      const publish = (topic: string, n: number): Promise<unknown> =>
        mqtt.publishAsync(`hflife/${t}/${topic}`, JSON.stringify({ n }), { qos: 1 });

      const flowId = await createFlow({
        type: 'mqtt',
        url: MQTT_URL,
        topic: `hflife/${t}/a`,
        idempotencyKey: 'event.body.n',
      });
      // MQTT keeps nothing for a subscription that does not exist yet: publish once it is connected.
      await timed('mqtt start after create', () => connected(flowId));
      await publish('a', 0);
      await waitFor(async () => (await count(flowId)) === 1, BOUND_MS);

      await patch(flowId, { enabled: false });
      await sleep(PROMISED_MS);
      for (let n = 1; n <= 5; n++) await publish('a', n);
      await sleep(1_500);
      expect(await count(flowId)).toBe(1);

      await patch(flowId, { enabled: true });
      await timed('mqtt resume after enable', async () => (await count(flowId)) === 6);

      await patch(flowId, {
        trigger: { type: 'mqtt', url: MQTT_URL, topic: `hflife/${t}/b`, idempotencyKey: 'event.body.n' },
      });
      await timed('mqtt reconnect after a topic change', () => connected(flowId));
      // The status may still be the old consumer's for a moment: wait until the new topic is consumed.
      await waitFor(
        async () => {
          await publish('b', 200);
          return (await count(flowId)) === 7;
        },
        BOUND_MS,
        500,
      );
      await publish('a', 100);
      await sleep(1_500);
      const { rows } = await db.query(
        `SELECT (event->'body'->>'n')::int AS n FROM executions WHERE flow_id = $1 ORDER BY 1`,
        [flowId],
      );
      expect(rows.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 200]);
    });
  });
}
