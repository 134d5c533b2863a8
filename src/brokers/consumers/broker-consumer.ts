import type { Logger } from '@nestjs/common';
import type { BrokerMessage } from 'src/brokers/broker-event';
import { Backoff } from 'src/brokers/consumers/backoff';
import type { StatusDetail, TriggerState } from 'src/brokers/trigger-status';

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
  status(state: TriggerState, detail?: StatusDetail): void;
  /** The text with every secret value masked: errors may quote a URL with its credentials. */
  mask(text: string): string;
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

/**
 * A connection that held this long resets the backoff. One lost sooner counts as one more failure, so
 * a broker that takes the consumer and drops it at once is knocked on ever more slowly, not every second.
 */
export const STABLE_AFTER_MS = 10_000;
/** How long a stop waits for commits in flight before it closes the connection. */
export const DRAIN_MS = 1_000;
/** After a failed commit, how long a message is held before it goes back to the broker. */
export const REDELIVER_AFTER_MS = 1_000;

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** IPv6 addresses in URLs and host:port text go in brackets. */
export function hostText(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/**
 * The connection loop every broker consumer shares: open, consume until the connection ends,
 * wait with backoff (src/brokers/consumers/backoff.ts), open again — until stopped. Subclasses open
 * a session and halt it; none uses its client library's own reconnects, so all three back off, log
 * and report alike: one warning when the trigger goes down, the failures after it at debug level,
 * one info line when it is back; the status carries the last error and the next attempt's time.
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
        { flowId: this.hooks.flowId, err: this.hooks.mask(errorText(e)) },
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
      { flowId: this.hooks.flowId, err: this.hooks.mask(errorText(e)) },
      'broker message not committed; it goes back to the broker',
    );
    if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, REDELIVER_AFTER_MS).unref());
  }

  private async run(): Promise<void> {
    const backoff = new Backoff();
    /** When the trigger went down (a first attempt that failed, or a lost connection); unset while up. */
    let downSince: number | undefined;
    this.hooks.status('connecting');
    while (!this.stopped) {
      let state: TriggerState;
      let error: string;
      try {
        const session = await this.open();
        if (this.stopped) break;
        const upSince = Date.now();
        this.hooks.status('connected');
        if (downSince !== undefined) {
          this.hooks.logger.log(
            { flowId: this.hooks.flowId, failures: backoff.failures, downForMs: upSince - downSince },
            'broker trigger connected again',
          );
          downSince = undefined;
        }
        const reason = await session.closed;
        if (this.stopped) break;
        if (Date.now() - upSince >= STABLE_AFTER_MS) backoff.reset();
        state = 'connecting';
        error = reason ? `connection lost: ${reason}` : 'connection lost';
      } catch (e) {
        if (this.stopped) break;
        state = 'error';
        error = errorText(e);
      }
      await this.halt({ forget: false }).catch(() => undefined);
      if (this.stopped) break;
      const delay = backoff.next();
      this.hooks.status(state, { error, nextAttemptAt: new Date(Date.now() + delay).toISOString() });
      const fields = {
        flowId: this.hooks.flowId,
        err: this.hooks.mask(error),
        failures: backoff.failures,
        retryInMs: delay,
      };
      if (downSince === undefined) {
        downSince = Date.now();
        this.hooks.logger.warn(
          fields,
          state === 'connecting'
            ? 'broker trigger lost its connection; reconnecting with backoff'
            : 'broker trigger cannot connect; retrying with backoff',
        );
      } else {
        this.hooks.logger.debug(fields, 'broker trigger still cannot connect');
      }
      await this.sleep(delay);
      // Trying now: the status keeps the last error until the attempt ends, without a next attempt.
      if (!this.stopped) this.hooks.status(state, { error });
    }
    await this.halt(this.stopOptions).catch(() => undefined);
  }
}
