import { randomBytes } from 'node:crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import { lazyModule } from 'src/common/lazy-module';
import type { ClientError } from 'src/steps/connections/connection-errors';
import { tlsServerName, urlCredentials } from 'src/steps/connections/connection-url';
import type { PooledConnection } from 'src/steps/connections/connection-pool';

const mqtt = lazyModule<typeof import('mqtt')>('mqtt');

/** CONNACK/PUBACK codes that mean "try again later" (3.1.1 server unavailable; 5: unavailable, busy, quota, rate). */
const TRANSIENT_CODES = new Set([3, 0x88, 0x89, 0x97, 0x9f]);
/** The broker speaks only MQTT 3.1.1 (3.1.1 code 1, MQTT 5 code 0x84). */
const UNSUPPORTED_VERSION = new Set([1, 0x84]);

/** A numeric CONNACK/PUBACK reason is the broker's answer: final unless it says to come back later. */
export function isMqttRefusal(e: ClientError): boolean {
  return typeof e.code === 'number' && !TRANSIENT_CODES.has(e.code);
}

export interface MqttMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  retain: boolean;
}

/**
 * One MQTT client that does not reconnect by itself: when the connection drops, the pool opens a
 * new one for the next step. MQTT 5 first (a PUBACK can then refuse a message), 3.1.1 as a fallback.
 */
export class MqttConnection implements PooledConnection {
  private broken = false;
  /** Publishes waiting for their PUBACK, failed at once when the connection drops. */
  private readonly pending = new Set<(e: Error) => void>();

  private constructor(private readonly client: MqttClient) {
    client.on('error', () => undefined);
    client.on('close', () => {
      this.broken = true;
      for (const fail of this.pending) fail(new Error('the MQTT connection closed before the PUBACK'));
      this.pending.clear();
    });
  }

  static async open(url: URL, address: string, timeoutMs: number): Promise<MqttConnection> {
    try {
      return await MqttConnection.connectWith(url, address, timeoutMs, 5);
    } catch (e) {
      if (!UNSUPPORTED_VERSION.has((e as ClientError).code as number)) throw e;
      return MqttConnection.connectWith(url, address, timeoutMs, 4);
    }
  }

  private static connectWith(
    url: URL,
    address: string,
    timeoutMs: number,
    protocolVersion: 4 | 5,
  ): Promise<MqttConnection> {
    const { user, password } = urlCredentials(url);
    const options: IClientOptions = {
      protocol: url.protocol === 'mqtts:' ? 'mqtts' : 'mqtt',
      host: address,
      port: url.port ? Number(url.port) : url.protocol === 'mqtts:' ? 8883 : 1883,
      servername: tlsServerName(url),
      username: user,
      password,
      clientId: `hookflow_${randomBytes(8).toString('hex')}`,
      protocolVersion,
      clean: true,
      connectTimeout: timeoutMs,
      reconnectPeriod: 0,
    };
    const client = mqtt().connect(options);
    return new Promise((resolve, reject) => {
      // Named handlers: MQTT.js listens to its own events too, so never removeAllListeners.
      const onConnect = (): void => {
        done();
        resolve(new MqttConnection(client));
      };
      const onError = (e: Error): void => {
        done();
        client.on('error', () => undefined);
        client.end(true);
        reject(e);
      };
      const onClose = (): void => onError(new Error('the MQTT broker closed the connection'));
      const done = (): void => {
        client.off('connect', onConnect);
        client.off('error', onError);
        client.off('close', onClose);
      };
      client.once('connect', onConnect);
      client.once('error', onError);
      client.once('close', onClose);
    });
  }

  get usable(): boolean {
    return !this.broken && this.client.connected;
  }

  /** QoS 1 resolves on the PUBACK, QoS 0 once written. */
  publish(message: MqttMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (e?: Error): void => {
        if (!this.pending.delete(settle)) return;
        if (e) reject(e);
        else resolve();
      };
      this.pending.add(settle);
      this.client.publish(message.topic, message.payload, { qos: message.qos, retain: message.retain }, (e) =>
        settle(e ?? undefined),
      );
    });
  }

  async close(): Promise<void> {
    this.broken = true;
    await this.client.endAsync().catch(() => undefined);
  }
}
