import type { Logger } from '@nestjs/common';
import type { BrokerMessage } from 'src/brokers/broker-event';
import type { TriggerState } from 'src/brokers/trigger-status';

/** Where a consumer connects: the rendered URL and the address the guard allowed (API.md §11). */
export interface BrokerTarget {
  url: URL;
  /** Resolved once and checked by the address guard; the client connects to it, never to the name. */
  address: string;
  username?: string;
  password?: string;
}

/** What the supervisor gives each consumer. */
export interface ConsumerHooks {
  flowId: string;
  /** Renders the connection URL (and credentials) with the current secrets and checks the host. */
  target(): Promise<BrokerTarget>;
  /** Resolves once the message's execution (or its filtered record) is committed; rejects if not. */
  deliver(message: BrokerMessage): Promise<void>;
  status(state: TriggerState, error?: string): void;
  logger: Logger;
}

export interface StopOptions {
  /** The flow was deleted: also drop what the broker keeps for it (an MQTT session). */
  forget: boolean;
}

/** An open connection that consumes; `closed` settles (with the reason) when it ends. */
export interface ConsumerSession {
  closed: Promise<string | undefined>;
}

/** Longest wait between connection attempts (API.md §11). */
export const MAX_RETRY_MS = 30_000;
/** How long a stop waits for commits in flight before it closes the connection. */
export const DRAIN_MS = 1_000;
/** After a failed commit, how long a message is held before it goes back to the broker. */
export const REDELIVER_AFTER_MS = 1_000;

/** Exponential backoff with jitter: ~0.5 s, 1 s, 2 s … never more than MAX_RETRY_MS. */
export function retryDelayMs(attempt: number, random = Math.random()): number {
  const base = Math.min(MAX_RETRY_MS, 500 * 2 ** Math.min(attempt, 16));
  return Math.min(MAX_RETRY_MS, Math.round(base * (0.8 + 0.4 * random)));
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** IPv6 addresses in URLs and host:port text go in brackets. */
export function hostText(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/**
 * The connection loop every broker consumer shares: open, consume until the connection ends,
 * wait with backoff, open again — until stopped. Subclasses open a session and halt it.
 */
export abstract class BrokerConsumer {
  protected stopped = false;
  private stopOptions: StopOptions = { forget: false };
  private readonly inflight = new Set<Promise<unknown>>();
  private loop?: Promise<void>;
  private wake?: () => void;

  constructor(protected readonly hooks: ConsumerHooks) {}

  start(): void {
    this.loop = this.run();
  }

  /** Stops taking messages, lets commits in flight finish (bounded) and closes the connection. */
  async stop(opts: StopOptions): Promise<void> {
    this.stopped = true;
    this.stopOptions = opts;
    this.wake?.();
    await this.halt(opts).catch((e: unknown) =>
      this.hooks.logger.warn(
        { flowId: this.hooks.flowId, err: errorText(e) },
        'broker consumer did not close cleanly',
      ),
    );
    await this.loop;
  }

  /** Opens a connection and starts consuming; resolves once messages can flow. */
  protected abstract open(): Promise<ConsumerSession>;

  /** Stops consuming and closes the current connection, if any; idempotent. */
  protected abstract halt(opts: StopOptions): Promise<void>;

  /** Keeps a message's commit-then-ack in view, so a stop can wait for it. */
  protected track(work: Promise<unknown>): void {
    const p: Promise<unknown> = work.catch(() => undefined).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Waits for the commits in flight, at most `ms`. */
  protected async drain(ms = DRAIN_MS): Promise<void> {
    if (this.inflight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inflight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
  }

  /** A pause that a stop cuts short. */
  protected sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** A failed commit: log it, and hold the message a moment so a database outage is not a hot loop. */
  protected async failed(e: unknown): Promise<void> {
    this.hooks.logger.warn(
      { flowId: this.hooks.flowId, err: errorText(e) },
      'broker message not committed; it goes back to the broker',
    );
    if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, REDELIVER_AFTER_MS).unref());
  }

  private async run(): Promise<void> {
    let failures = 0;
    let failing = false;
    while (!this.stopped) {
      if (!failing) this.hooks.status('connecting');
      try {
        const session = await this.open();
        if (this.stopped) break;
        this.hooks.status('connected');
        failures = 0;
        failing = false;
        const reason = await session.closed;
        if (this.stopped) break;
        this.hooks.status('connecting', reason ? `connection lost: ${reason}` : 'connection lost');
        failing = true;
      } catch (e) {
        if (this.stopped) break;
        this.hooks.status('error', errorText(e));
        this.hooks.logger.warn(
          { flowId: this.hooks.flowId, err: errorText(e) },
          'broker trigger could not connect; retrying',
        );
        failing = true;
        failures++;
      }
      await this.halt({ forget: false }).catch(() => undefined);
      await this.sleep(retryDelayMs(failures));
    }
    await this.halt(this.stopOptions).catch(() => undefined);
  }
}
