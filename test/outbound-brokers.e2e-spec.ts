import { connect as amqpConnect, type Channel, type ChannelModel } from 'amqplib';
import { connectAsync as mqttConnect, type MqttClient } from 'mqtt';
import { connect as natsConnect, type JetStreamManager, type Msg, type NatsConnection } from 'nats';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { OutboundConnections } from 'src/steps/connections/outbound-connections';
import { bootApp, TestApp } from './support/app';
import { createFlow, runToEnd } from './support/flow-runs';
import { waitFor } from './support/wait-for';

// Real RabbitMQ, Mosquitto and NATS on 127.0.0.1 (OUTBOUND_ALLOW=127.0.0.1/32, bootApp's default).
const fast = { attempts: 5, backoff: { type: 'fixed', delayMs: 50 } };
const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const tag = randomBytes(4).toString('hex');

describe('outbound: amqp, mqtt and nats steps against the real brokers', () => {
  let t: TestApp;
  let amqp: ChannelModel;
  let channel: Channel;
  let mqtt: MqttClient;
  let nats: NatsConnection;
  let jsm: JetStreamManager;
  /** Listens on 127.0.0.2, which OUTBOUND_ALLOW leaves out: it must never see a connection. */
  let refused: Server;
  let refusedPort = 0;
  let refusedConnections = 0;

  beforeAll(async () => {
    amqp = await amqpConnect(AMQP_URL);
    channel = await amqp.createChannel();
    mqtt = await mqttConnect('mqtt://127.0.0.1:1883', { connectTimeout: 5000, reconnectPeriod: 0 });
    nats = await natsConnect({ servers: '127.0.0.1:4222', timeout: 5000 });
    jsm = await nats.jetstreamManager();
    refused = createServer((socket) => {
      refusedConnections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => refused.listen(0, '127.0.0.2', resolve));
    refusedPort = (refused.address() as { port: number }).port;
    t = await bootApp();
    expect((await t.api('PUT', '/api/v1/secrets/AMQP_URL', { value: AMQP_URL })).status).toBe(200);
  });
  let appClosed = false;
  afterAll(async () => {
    if (!appClosed) await t.close();
    await amqp.close();
    await mqtt.endAsync();
    await nats.close();
    await new Promise((resolve) => refused.close(resolve));
  });

  async function run(steps: Record<string, unknown>[], payload: unknown): Promise<any> {
    const { hook } = await createFlow(t, {
      name: `brokers ${tag}`,
      steps: steps.map((s) => ({ retry: fast, ...s })),
    });
    return runToEnd(t, hook, payload);
  }

  function expectRefusedOnce(ex: any, error: string | RegExp): void {
    expect(ex.status).toBe('failed');
    expect(ex.steps[0].attempts).toHaveLength(1);
    if (typeof error === 'string') expect(ex.steps[0].error).toBe(error);
    else expect(ex.steps[0].error).toMatch(error);
  }

  describe('amqp', () => {
    it('publishes with a publisher confirm; a bound queue receives body, headers and properties', async () => {
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, 'amq.topic', `hf.${tag}.order.*`);
      const ex = await run(
        [
          {
            id: 'pub',
            type: 'amqp',
            url: '{{ $secrets.AMQP_URL }}',
            exchange: 'amq.topic',
            routingKey: `hf.${tag}.order.{{ event.body.kind }}`,
            headers: { 'x-source': 'hookflow', 'x-n': '{{ event.body.n }}' },
            body: { order: '{{ event.body.id }}', note: "it's {{ event.body.kind }}" },
          },
        ],
        { id: 7, kind: 'paid', n: 2 },
      );
      expect(ex.status).toBe('succeeded');
      expect(ex.steps[0].output).toEqual({ published: true });
      const msg = await waitFor(async () => (await channel.get(queue, { noAck: true })) || null, 5000);
      expect(JSON.parse(msg.content.toString())).toEqual({ order: 7, note: "it's paid" });
      expect(msg.fields.routingKey).toBe(`hf.${tag}.order.paid`);
      expect(msg.properties.contentType).toBe('application/json');
      expect(msg.properties.deliveryMode).toBe(2);
      expect(msg.properties.headers).toMatchObject({ 'x-source': 'hookflow', 'x-n': '2' });
      expect(typeof msg.properties.messageId).toBe('string');
      // The URL came from a secret: the recorded request shows it with the credentials masked.
      expect(ex.steps[0].attempts[0].request).toMatchObject({
        url: 'amqp://***@127.0.0.1:5672',
        exchange: 'amq.topic',
        routingKey: `hf.${tag}.order.paid`,
        persistent: true,
      });
    });

    it('sends text bodies as text and masks a literal password in the recorded URL', async () => {
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      const ex = await run(
        [
          {
            id: 'pub',
            type: 'amqp',
            url: 'amqp://guest:guest@127.0.0.1:5672/',
            routingKey: queue,
            body: 'hello {{ event.body.who }}',
            persistent: false,
          },
        ],
        { who: 'ada' },
      );
      expect(ex.status).toBe('succeeded');
      const msg = await waitFor(async () => (await channel.get(queue, { noAck: true })) || null, 5000);
      expect(msg.content.toString()).toBe('hello ada');
      expect(msg.properties.contentType).toBe('text/plain; charset=utf-8');
      expect(msg.properties.deliveryMode).toBe(1);
      expect(ex.steps[0].attempts[0].request.url).toBe('amqp://***@127.0.0.1:5672/');
      expect(JSON.stringify(ex)).not.toContain('guest:guest');
    });

    it("fails at once on the broker's refusal (no such exchange): one attempt of five", async () => {
      const ex = await run(
        [{ id: 'pub', type: 'amqp', url: AMQP_URL, exchange: `hf-none-${tag}`, routingKey: 'x', body: {} }],
        {},
      );
      expectRefusedOnce(ex, /NOT_FOUND - no exchange 'hf-none-/);
    });
  });

  describe('mqtt', () => {
    it('publishes with QoS 1 (after the PUBACK) to a subscriber', async () => {
      const topic = `hf/${tag}/readings`;
      const seen: Array<{ topic: string; payload: string; qos: number }> = [];
      mqtt.on('message', (tp, payload, packet) =>
        seen.push({ topic: tp, payload: payload.toString(), qos: packet.qos }),
      );
      await mqtt.subscribeAsync(topic, { qos: 1 });
      const ex = await run(
        [
          {
            id: 'pub',
            type: 'mqtt',
            url: 'mqtt://127.0.0.1:1883',
            topic: `hf/${tag}/{{ event.body.kind }}`,
            body: { celsius: '{{ event.body.c }}' },
          },
        ],
        { kind: 'readings', c: 21.5 },
      );
      expect(ex.status).toBe('succeeded');
      expect(ex.steps[0].output).toEqual({ published: true });
      expect(ex.steps[0].attempts[0].request).toMatchObject({ topic, qos: 1, retain: false });
      const got = await waitFor(() => seen.find((m) => m.topic === topic), 5000);
      expect(JSON.parse(got.payload)).toEqual({ celsius: 21.5 });
      expect(got.qos).toBe(1);
    });

    it('refuses a wildcard topic without connecting', async () => {
      const ex = await run(
        [{ id: 'pub', type: 'mqtt', url: 'mqtt://127.0.0.1:1883', topic: 'a/#', body: 1 }],
        {},
      );
      expectRefusedOnce(ex, 'topic may not hold + or # (wildcards are for subscribing)');
    });
  });

  describe('nats', () => {
    const stream = `HF_${tag}`;
    afterAll(async () => {
      await jsm.streams.delete(stream).catch(() => undefined);
    });

    it('publishes through JetStream when a stream covers the subject: {stream, seq}, acknowledged', async () => {
      await jsm.streams.add({ name: stream, subjects: [`hf.${tag}.js.>`] });
      const ex = await run(
        [
          {
            id: 'pub',
            type: 'nats',
            url: 'nats://127.0.0.1:4222',
            subject: `hf.${tag}.js.{{ event.body.kind }}`,
            headers: { 'x-source': 'hookflow' },
            body: { id: '{{ event.body.id }}' },
          },
        ],
        { kind: 'order', id: 9 },
      );
      expect(ex.status).toBe('succeeded');
      expect(ex.steps[0].output).toEqual({ stream, seq: 1 });
      const stored = await jsm.streams.getMessage(stream, { seq: 1 });
      expect(stored.subject).toBe(`hf.${tag}.js.order`);
      expect(stored.json()).toEqual({ id: 9 });
      expect(stored.header.get('x-source')).toBe('hookflow');
      // Nats-Msg-Id is the step's delivery id: a retried publish is stored once.
      expect(stored.header.get('Nats-Msg-Id')).toMatch(/^msg_/);
    });

    it('publishes on core NATS when no stream covers the subject: {published: true}', async () => {
      const subject = `hf.${tag}.core`;
      const got: Msg[] = [];
      nats.subscribe(subject, { max: 1, callback: (_err, m) => got.push(m) });
      await nats.flush();
      const ex = await run(
        [
          {
            id: 'pub',
            type: 'nats',
            url: 'nats://127.0.0.1:4222',
            subject,
            headers: { h: '1' },
            body: 'ping',
          },
        ],
        {},
      );
      expect(ex.status).toBe('succeeded');
      expect(ex.steps[0].output).toEqual({ published: true });
      const received = await waitFor(() => got[0], 5000);
      expect(received.string()).toBe('ping');
      expect(received.headers?.get('h')).toBe('1');
      // Delivered once: no JetStream try reached the subscriber as a request first.
      expect(received.reply).toBeFalsy();
    });
  });

  it.each([
    ['amqp', () => ({ url: `amqp://guest:guest@127.0.0.2:${refusedPort}`, routingKey: 'q', body: {} })],
    ['mqtt', () => ({ url: `mqtt://127.0.0.2:${refusedPort}`, topic: 't', body: {} })],
    ['nats', () => ({ url: `nats://127.0.0.2:${refusedPort}`, subject: 's', body: {} })],
  ])('refuses a %s host outside OUTBOUND_ALLOW with one attempt and no connection', async (type, fields) => {
    const ex = await run([{ id: 'pub', type, ...(fields as () => object)() }], {});
    expectRefusedOnce(ex, '127.0.0.2 is a loopback address; add it to OUTBOUND_ALLOW to allow it');
    expect(ex.steps[0].attempts[0].request.url).toContain('127.0.0.2');
    expect(JSON.stringify(ex)).not.toContain('guest:guest');
    expect(refusedConnections).toBe(0);
  });

  it('rejects a connection URL that reads anything but $secrets, naming the field', async () => {
    const res = await t.api('POST', '/api/v1/flows', {
      name: 'bad url',
      trigger: { type: 'webhook' },
      steps: [{ id: 'pub', type: 'amqp', url: 'amqp://{{ event.body.host }}', routingKey: 'q', body: {} }],
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain(
      'steps[0].url: a connection URL may only use {{ $secrets.NAME }} parts',
    );
  });

  it('previews what a dry run would publish, password masked, without connecting', async () => {
    const created = await t.api('POST', '/api/v1/flows', {
      name: 'dry',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'pub',
          type: 'amqp',
          url: `amqp://u:pw-secret@127.0.0.2:${refusedPort}`,
          routingKey: 'k',
          body: { a: '{{ event.body.a }}' },
        },
      ],
    });
    expect(created.status).toBe(201);
    const res = await t.api('POST', `/api/v1/flows/${created.body.id}/test`, { event: { body: { a: 1 } } });
    expect(res.status).toBe(200);
    expect(res.body.steps[0]).toEqual({
      id: 'pub',
      status: 'would_run',
      request: {
        url: `amqp://***@127.0.0.2:${refusedPort}`,
        exchange: '',
        routingKey: 'k',
        headers: {},
        body: { a: 1 },
        persistent: true,
      },
    });
    expect(refusedConnections).toBe(0);
  });

  it('keeps one pooled connection per URL and closes them all when the app shuts down', async () => {
    const connections = t.app.get(OutboundConnections, { strict: false });
    // The flows above published over amqp (two URLs: the secret's and the literal one), mqtt and nats.
    expect(connections.amqp.size).toBe(2);
    expect(connections.mqtt.size).toBe(1);
    expect(connections.nats.size).toBe(1);
    appClosed = true;
    await t.close();
    expect([connections.amqp.size, connections.mqtt.size, connections.nats.size]).toEqual([0, 0, 0]);
    await expect(connections.amqp.use(new URL(AMQP_URL), 1000, async () => 1)).rejects.toThrow(
      'the process is shutting down; its connections are closed',
    );
  });
});
