import type { OnApplicationShutdown } from '@nestjs/common';
import { AmqpConnection } from 'src/steps/connections/amqp-connection';
import { ConnectionPool, IDLE_CLOSE_MS, type PooledConnection } from 'src/steps/connections/connection-pool';
import { resolveAllowedAddress } from 'src/steps/connections/connection-url';
import { MqttConnection } from 'src/steps/connections/mqtt-connection';
import { NatsConnection } from 'src/steps/connections/nats-connection';
import { openSqlConnection, type SqlConnection } from 'src/steps/connections/sql-connection';
import { SmtpConnection } from 'src/steps/connections/smtp-connection';
import type { AllowList } from 'src/steps/outbound/address-guard';

type Opener<T> = (url: URL, address: string, timeoutMs: number) => Promise<T> | T;

/** One pool per kind of service, keyed by the rendered URL. */
class GuardedPool<T extends PooledConnection> {
  private readonly pool: ConnectionPool<T>;

  constructor(
    private readonly allow: AllowList,
    private readonly openWith: Opener<T>,
    idleMs: number,
  ) {
    this.pool = new ConnectionPool<T>(idleMs);
  }

  get size(): number {
    return this.pool.size;
  }

  /**
   * Runs `fn` on the URL's connection. A new connection first passes the address guard: the host is
   * resolved and checked once and the client connects to that address.
   */
  use<R>(url: URL, timeoutMs: number, fn: (conn: T) => Promise<R>): Promise<R> {
    const open = async (): Promise<T> =>
      this.openWith(url, await resolveAllowedAddress(url.hostname, this.allow), timeoutMs);
    return this.pool.use(url.toString(), open, fn);
  }

  closeAll(): Promise<void> {
    return this.pool.closeAll();
  }
}

/**
 * The connections of the broker, database and mail steps in this process (API.md section 11):
 * pooled per URL, closed when idle and when the app shuts down.
 */
export class OutboundConnections implements OnApplicationShutdown {
  readonly amqp: GuardedPool<AmqpConnection>;
  readonly mqtt: GuardedPool<MqttConnection>;
  readonly nats: GuardedPool<NatsConnection>;
  readonly sql: GuardedPool<SqlConnection>;
  readonly smtp: GuardedPool<SmtpConnection>;

  constructor(allow: AllowList, idleMs = IDLE_CLOSE_MS) {
    this.amqp = new GuardedPool(allow, (u, a, t) => AmqpConnection.open(u, a, t), idleMs);
    this.mqtt = new GuardedPool(allow, (u, a, t) => MqttConnection.open(u, a, t), idleMs);
    this.nats = new GuardedPool(allow, (u, a, t) => NatsConnection.open(u, a, t), idleMs);
    this.sql = new GuardedPool(allow, openSqlConnection, idleMs);
    this.smtp = new GuardedPool(allow, (u, a, t) => SmtpConnection.open(u, a, t), idleMs);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.closeAll();
  }

  async closeAll(): Promise<void> {
    await Promise.all([this.amqp, this.mqtt, this.nats, this.sql, this.smtp].map((p) => p.closeAll()));
  }
}
