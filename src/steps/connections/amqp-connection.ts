import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import { lazyModule } from 'src/common/lazy-module';
import type { ClientError } from 'src/steps/connections/connection-errors';
import { tlsServerName } from 'src/steps/connections/connection-url';
import type { PooledConnection } from 'src/steps/connections/connection-pool';

const amqp = lazyModule<typeof import('amqplib')>('amqplib');

/** Confirm channels kept open for reuse per connection; more concurrent publishes open more. */
const MAX_IDLE_CHANNELS = 8;

/** AMQP reply codes that are the broker refusing what was asked (not found, access refused...). */
const REFUSAL_CODES = new Set([402, 403, 404, 405, 406, 530, 540]);

/** The broker's refusal is final; everything else (connection lost, forced close, timeout) is retried. */
export function isAmqpRefusal(e: ClientError): boolean {
  if (typeof e.code === 'number') return REFUSAL_CODES.has(e.code);
  // A refused login ends the handshake with the reply text only; a nack is the broker refusing the message.
  return /\b(ACCESS[-_]REFUSED|NOT[-_]ALLOWED|NOT[-_]FOUND|PRECONDITION[-_]FAILED)\b|message nacked/.test(
    e.message,
  );
}

interface Lane {
  channel: ConfirmChannel;
  /** The broker's reason when it closed the channel (e.g. 404 no exchange). */
  closedBy?: Error;
  closed: boolean;
}

export interface AmqpMessage {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
}

/**
 * One AMQP connection with a few confirm channels. Each publish takes a channel of its own, so a
 * channel the broker closes over one step's mistake (an unknown exchange) fails only that step.
 */
export class AmqpConnection implements PooledConnection {
  private broken = false;
  private readonly idle: Lane[] = [];

  private constructor(private readonly model: ChannelModel) {
    // 'close' follows an 'error'; the pool opens a new connection for the next user.
    model.on('error', () => undefined);
    model.on('close', () => {
      this.broken = true;
    });
  }

  /** Connects to `address` (already checked by the address guard) with the URL's credentials and vhost. */
  static async open(url: URL, address: string, timeoutMs: number): Promise<AmqpConnection> {
    const target = new URL(url);
    target.hostname = address.includes(':') ? `[${address}]` : address;
    const model = await amqp().connect(target.toString(), {
      timeout: timeoutMs,
      noDelay: true,
      servername: tlsServerName(url),
      clientProperties: { connection_name: 'hookflow' },
    });
    return new AmqpConnection(model);
  }

  get usable(): boolean {
    return !this.broken;
  }

  /** Resolves once the broker confirmed the message (publisher confirm); rejects on a nack or a closed channel. */
  async publish(message: AmqpMessage): Promise<void> {
    const lane = this.idle.pop() ?? (await this.openLane());
    try {
      await new Promise<void>((resolve, reject) => {
        lane.channel.publish(message.exchange, message.routingKey, message.content, message.options, (err) =>
          err ? reject(lane.closedBy ?? (err instanceof Error ? err : new Error(String(err)))) : resolve(),
        );
      });
    } catch (e) {
      this.closeLane(lane);
      throw lane.closedBy ?? e;
    }
    if (!lane.closed && !this.broken && this.idle.length < MAX_IDLE_CHANNELS) this.idle.push(lane);
    else this.closeLane(lane);
  }

  async close(): Promise<void> {
    this.broken = true;
    this.idle.length = 0;
    await this.model.close().catch(() => undefined);
  }

  private async openLane(): Promise<Lane> {
    const channel = await this.model.createConfirmChannel();
    const lane: Lane = { channel, closed: false };
    channel.on('error', (e: Error) => {
      lane.closedBy = e;
    });
    channel.on('close', () => {
      lane.closed = true;
    });
    return lane;
  }

  private closeLane(lane: Lane): void {
    if (!lane.closed) void lane.channel.close().catch(() => undefined);
  }
}
