import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { SingleFlight } from 'src/common/batcher';
import { AppConfig } from 'src/config/app-config';
import {
  HostPattern,
  parseHostPattern,
  patternCovers,
  urlEndpoint,
} from 'src/destinations/destination-match';
import { DestinationEntity } from 'src/destinations/destination.entity';
import { StepQueue } from 'src/queue/step-queue.service';

/** How often a process checks that its copy is current when no change message reached it. */
const CHECK_MS = 2000;

export interface KnownDestination {
  def: DestinationEntity;
  patterns: HostPattern[];
}

/** The Redis keys of one destination's live state (limiter-scripts.ts). */
export interface DestinationKeys {
  s: string;
  l: string;
  w: string;
  j: string;
  d: string;
  r: string;
}

/**
 * This process's copy of the destinations, for matching a step's host without a query. Definitions
 * live in PostgreSQL; a random version token in Redis changes with every write, and each change is
 * announced on a channel. The limiter hands its token to every decision, so a decision made with an
 * old copy is refused ('stale') and made again after a reload — a deleted or changed destination
 * never limits by its old rules, and a Redis wipe (token gone) reloads too. Steps that match nothing
 * make no call: they see a new destination when the message arrives, or within CHECK_MS.
 */
@Injectable()
export class DestinationRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DestinationRegistry.name);
  private known: KnownDestination[] = [];
  private current = '';
  private subscriber?: Redis;
  private timer?: NodeJS.Timeout;
  private readonly loads = new SingleFlight<number, void>(() => this.load());
  /** Bumped by a write here: a load that started before it is not shared after it. */
  private generation = 0;
  readonly prefix: string;
  readonly versionKey: string;
  private readonly channel: string;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly queue: StepQueue,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.QUEUE_PREFIX}:dest`;
    this.versionKey = `${this.prefix}:version`;
    this.channel = `${this.prefix}:changed`;
  }

  get redis(): Redis {
    return this.queue.redis;
  }

  /** The token the current copy was read under. */
  get token(): string {
    return this.current;
  }

  get all(): readonly KnownDestination[] {
    return this.known;
  }

  keys(name: string): DestinationKeys {
    const base = `${this.prefix}:${name}`;
    return { s: `${base}:s`, l: `${base}:l`, w: `${base}:w`, j: `${base}:j`, d: `${base}:d`, r: `${base}:r` };
  }

  async onModuleInit(): Promise<void> {
    const subscriber = this.queue.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', (e: Error) => this.logger.debug({ err: e.message }, 'destination channel error'));
    subscriber.on('message', () => void this.reload().catch(() => undefined));
    void subscriber.subscribe(this.channel).catch(() => undefined);
    this.timer = setInterval(() => void this.check(), CHECK_MS);
    this.timer.unref();
    await this.reload().catch((e: unknown) =>
      this.logger.warn({ err: (e as Error).message }, 'could not read the destinations at start'),
    );
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.subscriber?.disconnect();
  }

  /** The destinations whose `match` covers the host (and port) of `url`. */
  match(url: URL): KnownDestination[] {
    if (this.known.length === 0) return [];
    const { host, port } = urlEndpoint(url);
    return this.known.filter((k) => k.patterns.some((p) => patternCovers(p, host, port)));
  }

  /** Reads the definitions again (one load at a time in this process). */
  reload(): Promise<void> {
    return this.loads.get(this.generation);
  }

  /** After a write: a new token for every process, the news on the channel, this copy at once. */
  async changed(): Promise<void> {
    await this.redis.set(this.versionKey, randomUUID());
    this.generation++;
    await this.reload();
    await this.redis.publish(this.channel, '1').catch(() => undefined);
  }

  private async check(): Promise<void> {
    try {
      if ((await this.redis.get(this.versionKey)) !== this.current) await this.reload();
    } catch {
      // Redis away: the next check tries again
    }
  }

  private async load(): Promise<void> {
    // The token first: a write that lands while the rows are read leaves this copy stale, not wrong.
    await this.redis.set(this.versionKey, randomUUID(), 'NX');
    const token = (await this.redis.get(this.versionKey)) ?? '';
    const rows = await this.db.getRepository(DestinationEntity).find({ order: { name: 'ASC' } });
    this.known = rows.map((def) => ({
      def,
      patterns: def.match.map(parseHostPattern).filter((p): p is HostPattern => p !== undefined),
    }));
    this.current = token;
  }
}
