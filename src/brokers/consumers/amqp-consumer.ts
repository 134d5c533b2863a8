import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { lazyModule } from 'src/common/lazy-module';
import { lowerCaseHeaders, type BrokerMessage } from 'src/brokers/broker-event';
import { DEFAULT_PREFETCH } from 'src/flows/definitions/broker-trigger.dto';
import {
  BrokerConsumer,
  type ConsumerHooks,
  type ConsumerSession,
  hostText,
} from 'src/brokers/consumers/broker-consumer';
import type { AmqpTriggerDefinition } from 'src/flows/flow-definition';
import { tlsServerName } from 'src/steps/connections/connection-url';

const amqp = lazyModule<typeof import('amqplib')>('amqplib');

const CONNECT_TIMEOUT_MS = 10_000;

/** AMQP properties that become headers (names as in the event: lower case, dashed). */
function propertyHeaders(p: ConsumeMessage['properties']): Array<[string, unknown]> {
  return [
    ['content-type', p.contentType],
    ['content-encoding', p.contentEncoding],
    ['correlation-id', p.correlationId],
    ['reply-to', p.replyTo],
    ['expiration', p.expiration],
    ['message-id', p.messageId],
    ['timestamp', p.timestamp],
    ['type', p.type],
    ['user-id', p.userId],
    ['app-id', p.appId],
    ['priority', p.priority],
    ['delivery-mode', p.deliveryMode],
  ];
}

export function amqpMessage(queue: string, msg: ConsumeMessage): BrokerMessage {
  const messageId = typeof msg.properties.messageId === 'string' ? msg.properties.messageId : undefined;
  return {
    payload: msg.content,
    // Properties after headers: a header cannot pass itself off as the message id.
    headers: {
      ...lowerCaseHeaders(Object.entries(msg.properties.headers ?? {})),
      ...lowerCaseHeaders(propertyHeaders(msg.properties)),
    },
    source: {
      queue,
      ...(messageId !== undefined ? { messageId } : {}),
      redelivered: msg.fields.redelivered,
    },
    messageId,
  };
}

/**
 * A RabbitMQ queue consumer with manual acks: `prefetch` messages in flight, each acked only once its
 * execution is committed, put back (nack + requeue) when the commit failed. The queue must exist: a
 * missing one is an `error` status, retried with backoff.
 */
export class AmqpConsumer extends BrokerConsumer {
  private model?: ChannelModel;
  private channel?: Channel;
  private consumerTag?: string;

  constructor(
    hooks: ConsumerHooks,
    private readonly trigger: AmqpTriggerDefinition,
  ) {
    super(hooks);
  }

  protected async open(): Promise<ConsumerSession> {
    const { url, address } = await this.hooks.target();
    const target = new URL(url);
    target.hostname = hostText(address);
    const model = await amqp().connect(target.toString(), {
      timeout: CONNECT_TIMEOUT_MS,
      servername: tlsServerName(url),
      clientProperties: { connection_name: `hookflow trigger ${this.hooks.flowId}` },
    });
    this.model = model;
    const closed = new Promise<string | undefined>((resolve) => {
      model.on('error', () => undefined);
      model.on('close', (e?: Error) => resolve(e?.message));
    });
    const channel = await model.createChannel();
    this.channel = channel;
    channel.on('error', () => undefined);
    // The broker closes the channel over a missing queue; reconnecting reports it as the status.
    channel.on('close', () => void model.close().catch(() => undefined));
    await channel.checkQueue(this.trigger.queue);
    await channel.prefetch(this.trigger.prefetch ?? DEFAULT_PREFETCH);
    const { consumerTag } = await channel.consume(this.trigger.queue, (msg) => this.receive(channel, msg), {
      noAck: false,
    });
    this.consumerTag = consumerTag;
    return { closed };
  }

  private receive(channel: Channel, msg: ConsumeMessage | null): void {
    // null: the broker cancelled the consumer (the queue was deleted).
    if (!msg) {
      void this.model?.close().catch(() => undefined);
      return;
    }
    // Stopping: not acked, so the broker gives it to the next consumer.
    if (this.stopped) return;
    this.track(
      this.hooks.deliver(amqpMessage(this.trigger.queue, msg)).then(
        () => settle(() => channel.ack(msg)),
        async (e: unknown) => {
          await this.failed(e);
          settle(() => channel.nack(msg, false, true));
        },
      ),
    );
  }

  protected async halt(): Promise<void> {
    const { model, channel, consumerTag } = this;
    this.model = undefined;
    this.channel = undefined;
    this.consumerTag = undefined;
    if (!model) return;
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
    await this.drain();
    // Closing puts every message not acked back in the queue.
    await model.close().catch(() => undefined);
  }
}

/** An ack or nack on a channel that closed meanwhile throws; the broker then redelivers the message. */
function settle(fn: () => void): void {
  try {
    fn();
  } catch {
    // channel closed: the message goes back to the queue
  }
}
