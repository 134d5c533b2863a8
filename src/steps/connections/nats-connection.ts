import type { JetStreamClient, MsgHdrs, NatsConnection as NatsClient, PubAck } from 'nats';
import { lazyModule } from 'src/common/lazy-module';
import type { ClientError } from 'src/steps/connections/connection-errors';
import { urlCredentials } from 'src/steps/connections/connection-url';
import type { PooledConnection } from 'src/steps/connections/connection-pool';

const nats = lazyModule<typeof import('nats')>('nats');

/** The server's "no responders" status: nobody listens on the subject (here: JetStream is off). */
const NO_RESPONDERS = '503';

/** The server refused us (credentials, permissions) or JetStream refused the message (a JS API error). */
export function isNatsRefusal(e: ClientError): boolean {
  if (typeof e.code === 'string' && /VIOLATION$/.test(e.code)) return true;
  return (e as { api_error?: unknown }).api_error !== undefined;
}

export interface NatsMessage {
  subject: string;
  payload: Uint8Array;
  headers: Record<string, string>;
  /** Nats-Msg-Id: the same on every attempt, so a stream keeps one copy of a retried message. */
  msgId: string;
  timeoutMs: number;
}

export type NatsPublished = { stream: string; seq: number } | { published: true };

/** STREAM.NAMES answer (JetStream API). */
interface StreamNames {
  streams?: string[] | null;
  error?: { code: number; description: string };
}

/**
 * One NATS connection. Cluster gossip is ignored: the client only ever talks to the address the
 * guard checked, and does not reconnect by itself (the pool opens a new connection instead).
 */
export class NatsConnection implements PooledConnection {
  private readonly js: JetStreamClient;

  private constructor(private readonly nc: NatsClient) {
    this.js = nc.jetstream();
  }

  static async open(url: URL, address: string, timeoutMs: number): Promise<NatsConnection> {
    const { user, password } = urlCredentials(url);
    const host = address.includes(':') ? `[${address}]` : address;
    const nc = await nats().connect({
      servers: `${host}:${url.port || '4222'}`,
      // `nats://token@host` carries a token, `nats://user:pass@host` a user and password.
      ...(user !== undefined && password === undefined ? { token: user } : { user, pass: password }),
      name: 'hookflow',
      timeout: timeoutMs,
      reconnect: false,
      ignoreClusterUpdates: true,
      noRandomize: true,
    });
    return new NatsConnection(nc);
  }

  get usable(): boolean {
    return !this.nc.isClosed() && !this.nc.isDraining();
  }

  /**
   * JetStream when a stream covers the subject, core NATS otherwise. The stream is looked up first
   * (STREAM.NAMES with the subject) instead of trying a JetStream publish and falling back on "no
   * responders": that try would deliver the message to any core subscriber of the subject as a
   * request, and a retry after it timed out would deliver it again.
   */
  async publish(message: NatsMessage): Promise<NatsPublished> {
    const hdrs = message.headers;
    const stream = await this.streamFor(message.subject, message.timeoutMs);
    if (stream !== undefined) {
      const ack: PubAck = await this.js.publish(message.subject, message.payload, {
        msgID: message.msgId,
        expect: { streamName: stream },
        headers: toHeaders(hdrs),
        timeout: message.timeoutMs,
      });
      return { stream: ack.stream, seq: ack.seq };
    }
    this.nc.publish(message.subject, message.payload, { headers: toHeaders(hdrs) });
    // PING/PONG: once the PONG is back, the server has read the PUB (core NATS has no other answer).
    await this.nc.flush();
    return { published: true };
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => undefined);
  }

  private async streamFor(subject: string, timeoutMs: number): Promise<string | undefined> {
    let answer: StreamNames;
    try {
      const reply = await this.nc.request('$JS.API.STREAM.NAMES', JSON.stringify({ subject }), {
        timeout: timeoutMs,
      });
      answer = reply.json<StreamNames>();
    } catch (e) {
      // No JetStream on this server (or account): core NATS it is.
      if ((e as ClientError).code === NO_RESPONDERS) return undefined;
      throw e;
    }
    if (answer.error) throw new Error(`JetStream: ${answer.error.description} (${answer.error.code})`);
    return answer.streams?.[0] ?? undefined;
  }
}

function toHeaders(values: Record<string, string>): MsgHdrs | undefined {
  const entries = Object.entries(values);
  if (entries.length === 0) return undefined;
  const h = nats().headers();
  for (const [k, v] of entries) h.set(k, v);
  return h;
}
