import type { IPublishPacket, MqttClient } from 'mqtt';
import { lazyModule } from 'src/common/lazy-module';
import { lowerCaseHeaders, type BrokerMessage } from 'src/brokers/broker-event';
import { DEFAULT_MQTT_QOS } from 'src/flows/definitions/broker-trigger.dto';
import {
  BrokerConsumer,
  type ConsumerHooks,
  type ConsumerSession,
  errorText,
  type StopOptions,
} from 'src/brokers/consumers/broker-consumer';
import type { MqttTriggerDefinition } from 'src/flows/flow-definition';
import { tlsServerName } from 'src/steps/connections/connection-url';

const mqtt = lazyModule<typeof import('mqtt')>('mqtt');

const CONNECT_TIMEOUT_MS = 10_000;
/**
 * How long the broker keeps a consumer's session (its subscription and the QoS 1 messages it holds)
 * while no one is connected: a disabled flow picks up what arrived meanwhile when it is enabled
 * again within this time.
 */
export const SESSION_EXPIRY_S = 86_400;

/** All worker processes share one subscription per flow, so each message starts one execution. */
export function sharedTopic(flowId: string, topic: string): string {
  return `$share/hookflow-${flowId}/${topic}`;
}

export function mqttMessage(packet: IPublishPacket): BrokerMessage {
  const props = packet.properties;
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  return {
    payload,
    headers: lowerCaseHeaders([
      ...Object.entries(props?.userProperties ?? {}),
      ['content-type', props?.contentType],
      ['response-topic', props?.responseTopic],
    ]),
    // MQTT has no message id (the packet id is reused): no default idempotency key.
    source: { topic: packet.topic, redelivered: packet.dup },
  };
}

/**
 * An MQTT 5 consumer on a shared subscription (`$share/hookflow-<flowId>/<topic>`) with a persistent
 * session. QoS 1: the PUBACK is held (MQTT.js customHandleAcks) until the execution is committed;
 * a failed commit sends none and drops the connection, and the broker sends the message again when
 * the session reconnects. MQTT.js handles one incoming packet at a time while an ack is held, so
 * each consumer commits one message at a time; more worker processes share the load.
 */
export class MqttConsumer extends BrokerConsumer {
  private client?: MqttClient;

  constructor(
    hooks: ConsumerHooks,
    private readonly trigger: MqttTriggerDefinition,
    /** Stable per flow and worker slot, so a restarted worker resumes its session. */
    private readonly clientId: string,
  ) {
    super(hooks);
  }

  private get filter(): string {
    return sharedTopic(this.hooks.flowId, this.trigger.topic);
  }

  protected async open(): Promise<ConsumerSession> {
    const { url, address, username, password } = await this.hooks.target();
    const tls = url.protocol === 'mqtts:';
    const qos = this.trigger.qos ?? DEFAULT_MQTT_QOS;
    const client = mqtt().connect({
      protocol: tls ? 'mqtts' : 'mqtt',
      host: address,
      port: url.port ? Number(url.port) : tls ? 8883 : 1883,
      servername: tlsServerName(url),
      clientId: this.clientId,
      username,
      password,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: SESSION_EXPIRY_S },
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      resubscribe: false,
      customHandleAcks: (_topic, _payload, packet: IPublishPacket, done) =>
        this.receive(client, packet, done),
    });
    this.client = client;
    const closed = new Promise<string | undefined>((resolve) => {
      let last: string | undefined;
      client.on('error', (e) => {
        last = errorText(e);
      });
      client.on('close', () => resolve(last));
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('the broker closed the connection')));
    });
    if (qos === 0) {
      client.on('message', (_topic, _payload, packet) => {
        if (packet.qos === 0)
          this.track(this.hooks.deliver(mqttMessage(packet)).catch((e) => this.failed(e)));
      });
    }
    const granted = await client.subscribeAsync(this.filter, { qos });
    const refused = granted.find((g) => g.qos > 2);
    if (refused)
      throw new Error(`the broker refused the subscription to ${this.trigger.topic} (code ${refused.qos})`);
    return { closed };
  }

  private receive(
    client: MqttClient,
    packet: IPublishPacket,
    done: (e: Error | number, code?: number) => void,
  ): void {
    // Stopping: no PUBACK; the session keeps the message for the next connect.
    if (this.stopped) return;
    this.track(
      this.hooks.deliver(mqttMessage(packet)).then(
        () => done(0),
        async (e: unknown) => {
          // No PUBACK: drop the connection; the broker redelivers on the session's next connect.
          await this.failed(e);
          client.end(true);
        },
      ),
    );
  }

  protected async halt(opts: StopOptions): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await this.drain();
    if (opts.forget && client.connected) {
      // A deleted flow: drop its subscription and session so the broker stops keeping messages for it.
      await client.unsubscribeAsync(this.filter).catch(() => undefined);
      await bounded(client.endAsync(false, { properties: { sessionExpiryInterval: 0 } }), client);
      return;
    }
    await bounded(client.endAsync(!client.connected), client);
  }
}

/** A graceful end that does not come within a second is forced. */
async function bounded(ending: Promise<void>, client: MqttClient): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), 1_000);
  });
  const outcome = await Promise.race([ending.catch(() => undefined), late]);
  clearTimeout(timer);
  if (outcome === 'late') client.end(true);
}
