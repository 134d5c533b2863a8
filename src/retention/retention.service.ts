import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import { ExecutionRetentionRepository } from 'src/executions/execution-retention.repository';
import { MetricsService } from 'src/metrics/metrics.service';

/** Rows per DELETE: each statement commits on its own, so row locks last one small batch. */
export const PRUNE_BATCH = 1000;
/** Breathing room between batches for the hot path (inserts, the runner's updates) and autovacuum. */
const PAUSE_MS = 20;
/** A huge backlog is worked off over several runs rather than in one long one. */
const MAX_BATCHES_PER_RUN = 500;
/** API.md: an idempotency key is kept at least 7 days. */
const MIN_KEY_DAYS = 7;

export interface PruneResult {
  executions: number;
  idempotencyKeys: number;
}

/**
 * Removes finished executions older than EXECUTION_RETENTION_DAYS, and idempotency keys older than
 * max(7 days, retention), in small batches (see docs/operate.md, "Retention", for why not partitions).
 * Runs in worker processes only; a session advisory lock keeps it to one process at a time.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RetentionService.name);
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private running?: Promise<PruneResult | null>;

  constructor(
    private readonly repository: ExecutionRetentionRepository,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.values.RETENTION_INTERVAL_MS;
    // A first run soon after boot, so frequent restarts (rolling upgrades) do not postpone it forever.
    const tick = (delay: number): void => {
      this.timer = setTimeout(() => {
        void this.pruneOnce().finally(() => {
          if (!this.stopping) tick(every);
        });
      }, delay);
      this.timer.unref();
    };
    tick(Math.min(every, 60_000));
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass; null when another process is pruning right now. */
  pruneOnce(): Promise<PruneResult | null> {
    this.running ??= this.prune().finally(() => (this.running = undefined));
    return this.running;
  }

  private async prune(): Promise<PruneResult | null> {
    const days = this.config.values.EXECUTION_RETENTION_DAYS;
    const started = Date.now();
    try {
      return await this.repository.withPruneLock(async (session) => {
        const executions = await this.inBatches((limit) =>
          session.deleteFinishedExecutions(days, limit),
        );
        this.metrics.pruned('executions', executions);
        const idempotencyKeys = await this.inBatches((limit) =>
          session.deleteIdempotencyKeys(Math.max(MIN_KEY_DAYS, days), limit),
        );
        this.metrics.pruned('idempotency_keys', idempotencyKeys);
        if (executions + idempotencyKeys > 0) {
          this.logger.log({ executions, idempotencyKeys, durationMs: Date.now() - started }, 'pruned');
        }
        return { executions, idempotencyKeys };
      });
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, 'pruning failed; the next run tries again');
      return null;
    }
  }

  /** One batch at a time until one comes back short, with a pause between (and a bound per run). */
  private async inBatches(deleteBatch: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES_PER_RUN && !this.stopping; i++) {
      const affected = await deleteBatch(PRUNE_BATCH);
      total += affected;
      if (affected < PRUNE_BATCH) break;
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
    return total;
  }
}
