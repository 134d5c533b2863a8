import type {
  ConsumerInfo,
  ConsumerMessages,
  JsMsg,
  Msg,
  MsgHdrs,
  NatsConnection,
  NatsError,
  Subscription,
} from 'nats';
import { lazyModule } from 'src/common/lazy-module';
import { lowerCaseHeaders, type BrokerMessage } from 'src/brokers/broker-event';
import {
  BrokerConsumer,
  type ConsumerHooks,
  type ConsumerSession,
  errorText,
  hostText,
} from 'src/brokers/consumers/broker-consumer';
import type { NatsTriggerDefinition } from 'src/flows/flow-definition';

const nats = lazyModule<typeof import('nats')>('nats');

const CONNECT_TIMEOUT_MS = 10_000;
/** JetStream messages committed at once per consumer. */
const MAX_IN_FLIGHT = 64;
/** JetStream API code for "consumer not found". */
const CONSUMER_NOT_FOUND = 10014;

function headerEntries(headers: MsgHdrs | undefined): Array<[string, unknown]> {
  if (!headers) return [];
  return headers.keys().map((k) => [k, headers.values(k)]);
}

/** A NATS message as a broker message; JetStream's carry their stream sequence. */
export function natsMessage(
  msg: Msg | JsMsg,
  jetstream?: { stream: string; seq: number; redelivered: boolean },
): BrokerMessage {
  const msgId = msg.headers?.get('Nats-Msg-Id') || undefined;
  // The publisher's Nats-Msg-Id when it set one, else the stream's sequence (core NATS: none).
  const messageId = msgId ?? (jetstream ? `${jetstream.stream}:${jetstream.seq}` : undefined);
  return {
    payload: msg.data,
    headers: lowerCaseHeaders(headerEntries(msg.headers)),
    source: {
      subject: msg.subject,
      ...(messageId !== undefined ? { messageId } : {}),
      ...(jetstream ? { redelivered: jetstream.redelivered } : {}),
    },
    messageId,
  };
}

/**
 * A NATS consumer. With `stream` and `durable`: a JetStream durable pull consumer (created when
 * missing, explicit acks), each message acked only after its commit; one not committed is not
 * acked and JetStream redelivers it after the consumer's ack wait. Without: a core NATS queue
 * group subscription (`hookflow-<flowId>`), one worker per message, at most once — core NATS keeps
 * nothing, so a message that fails to commit is lost (and logged).
 */
export class NatsConsumer extends BrokerConsumer {
  private nc?: NatsConnection;
  private messages?: ConsumerMessages;
  private sub?: Subscription;

  constructor(
    hooks: ConsumerHooks,
    private readonly trigger: NatsTriggerDefinition,
  ) {
    super(hooks);
  }

  protected async open(): Promise<ConsumerSession> {
    const { url, address, username, password } = await this.hooks.target();
    const user = username ?? (url.username ? decodeURIComponent(url.username) : undefined);
    const pass = password ?? (url.password ? decodeURIComponent(url.password) : undefined);
    const nc = await nats().connect({
      servers: `${hostText(address)}:${url.port || 4222}`,
      // nats://token@host is a token; nats://user:pass@host a user and password.
      ...(user !== undefined && pass === undefined ? { token: user } : { user, pass }),
      ...(url.protocol === 'tls:' ? { tls: {} } : {}),
      name: `hookflow trigger ${this.hooks.flowId}`,
      timeout: CONNECT_TIMEOUT_MS,
      // A dropped connection closes: the shared loop reconnects with backoff (the client's own
      // reconnects wait a fixed time, forever), and opens the subscription or JetStream consumer anew.
      reconnect: false,
      // Never follow servers the cluster announces: only the address the guard allowed.
      ignoreClusterUpdates: true,
    });
    this.nc = nc;
    const closed = nc.closed().then((e) => (e ? errorText(e) : undefined));
    if (this.trigger.stream && this.trigger.durable)
      await this.consumeStream(nc, this.trigger.stream, this.trigger.durable);
    else this.subscribe(nc);
    return { closed };
  }

  private async consumeStream(nc: NatsConnection, stream: string, durable: string): Promise<void> {
    const jsm = await nc.jetstreamManager();
    const subject = this.trigger.subject;
    let info: ConsumerInfo | undefined;
    try {
      info = await jsm.consumers.info(stream, durable);
    } catch (e) {
      if ((e as NatsError).api_error?.err_code !== CONSUMER_NOT_FOUND) throw e;
    }
    const filter = info?.config.filter_subject;
    let from: number | undefined;
    // The trigger's subject changed, the durable kept: the durable is made again on the new subject,
    // from where it had got to in the stream (a durable without a filter, made outside hookflow, is
    // left as it is). Not an in-place update: a NATS 2.9 server accepts a new filter but keeps waking
    // the consumer's pull requests on the old subject only, so new messages would wait ~30 s.
    if (info && filter && filter !== subject) {
      from = info.delivered.stream_seq + 1;
      await jsm.consumers.delete(stream, durable).catch((e: unknown) => {
        if ((e as NatsError).api_error?.err_code !== CONSUMER_NOT_FOUND) throw e;
      });
      info = undefined;
    }
    if (!info) {
      await jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: nats().AckPolicy.Explicit,
        ...(from === undefined
          ? { deliver_policy: nats().DeliverPolicy.All }
          : { deliver_policy: nats().DeliverPolicy.StartSequence, opt_start_seq: from }),
        filter_subject: subject,
      });
    }
    const consumer = await nc.jetstream().consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: MAX_IN_FLIGHT });
    this.messages = messages;
    void this.pump(messages, stream);
  }

  private async pump(messages: ConsumerMessages, stream: string): Promise<void> {
    let inFlight = 0;
    let freed: (() => void) | undefined;
    for await (const m of messages) {
      if (this.stopped) break;
      const message = natsMessage(m, { stream, seq: m.seq, redelivered: m.redelivered });
      inFlight++;
      this.track(
        this.hooks
          .deliver(message)
          .then(
            () => m.ack(),
            // No ack: JetStream sends it again after the consumer's ack wait.
            (e: unknown) => this.failed(e),
          )
          .finally(() => {
            inFlight--;
            freed?.();
          }),
      );
      while (inFlight >= MAX_IN_FLIGHT && !this.stopped) await new Promise<void>((r) => (freed = r));
    }
  }

  private subscribe(nc: NatsConnection): void {
    this.sub = nc.subscribe(this.trigger.subject, {
      queue: `hookflow-${this.hooks.flowId}`,
      callback: (err, msg) => {
        if (err || this.stopped) return;
        this.track(
          this.hooks.deliver(natsMessage(msg)).catch((e: unknown) => {
            this.hooks.logger.error(
              { flowId: this.hooks.flowId, err: this.hooks.mask(errorText(e)), subject: msg.subject },
              'core NATS message lost: not committed, and core NATS does not redeliver',
            );
          }),
        );
      },
    });
  }

  protected async halt(): Promise<void> {
    const { nc, messages, sub } = this;
    this.nc = undefined;
    this.messages = undefined;
    this.sub = undefined;
    if (!nc) return;
    sub?.unsubscribe();
    await messages?.close().catch(() => undefined);
    await this.drain();
    await nc.close().catch(() => undefined);
  }
}
