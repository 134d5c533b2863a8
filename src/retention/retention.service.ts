import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { AppConfig } from 'src/config/app-config';
import { MetricsService } from 'src/metrics/metrics.service';

/** Any fixed number, distinct from the migration lock: one pruner at a time across all processes. */
const PRUNE_LOCK = 7_346_002;
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

// Both statements pick their victims through an index (the partial executions_finished_idx, whose
// predicate the WHERE repeats; idempotency_keys_created_idx) and skip rows someone else holds.
const DELETE_EXECUTIONS = `
  DELETE FROM executions WHERE id IN (
    SELECT id FROM executions
     WHERE status IN ('succeeded', 'failed', 'filtered', 'cancelled')
       AND finished_at < now() - make_interval(days => $1::int)
     ORDER BY finished_at
     LIMIT $2
     FOR UPDATE SKIP LOCKED)`;
const DELETE_KEYS = `
  DELETE FROM idempotency_keys WHERE (flow_id, key) IN (
    SELECT flow_id, key FROM idempotency_keys
     WHERE created_at < now() - make_interval(days => $1::int)
     ORDER BY created_at
     LIMIT $2
     FOR UPDATE SKIP LOCKED)`;

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
    @InjectDataSource() private readonly db: DataSource,
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
    const runner = this.db.createQueryRunner();
    try {
      await runner.connect();
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        PRUNE_LOCK,
      ])) as Array<{ locked: boolean }>;
      if (!locked) return null;
      try {
        const executions = await this.inBatches(runner, DELETE_EXECUTIONS, days);
        this.metrics.pruned('executions', executions);
        const idempotencyKeys = await this.inBatches(runner, DELETE_KEYS, Math.max(MIN_KEY_DAYS, days));
        this.metrics.pruned('idempotency_keys', idempotencyKeys);
        if (executions + idempotencyKeys > 0) {
          this.logger.log({ executions, idempotencyKeys, durationMs: Date.now() - started }, 'pruned');
        }
        return { executions, idempotencyKeys };
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [PRUNE_LOCK]);
      }
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, 'pruning failed; the next run tries again');
      return null;
    } finally {
      await runner.release();
    }
  }

  private async inBatches(runner: QueryRunner, sql: string, days: number): Promise<number> {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES_PER_RUN && !this.stopping; i++) {
      // TypeORM answers a DELETE with [rows, affected count].
      const [, affected] = (await runner.query(sql, [days, PRUNE_BATCH])) as [unknown, number];
      total += affected;
      if (affected < PRUNE_BATCH) break;
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
    return total;
  }
}
