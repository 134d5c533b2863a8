import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';

/** Any fixed number, distinct from the migration lock: one pruner at a time across all processes. */
const PRUNE_LOCK = 7_346_002;

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

/** One pruning pass's statements, on the connection that holds the prune lock; each commits on its own. */
export interface PruneSession {
  /** Deletes up to `limit` finished executions older than `days`; answers how many went. */
  deleteFinishedExecutions(days: number, limit: number): Promise<number>;
  /** Deletes up to `limit` idempotency keys older than `days`; answers how many went. */
  deleteIdempotencyKeys(days: number, limit: number): Promise<number>;
}

/**
 * Retention's statements on `executions` and `idempotency_keys` (RetentionService decides when and
 * how much). Kept apart from ExecutionRepository, the hot path's SQL: these run on a connection of
 * their own, under a session advisory lock, a few times an hour.
 */
@Injectable()
export class ExecutionRetentionRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Runs `work` on one connection holding the prune lock, released afterwards; null (and `work` not
   * run) when another process holds it.
   */
  async withPruneLock<T>(work: (session: PruneSession) => Promise<T>): Promise<T | null> {
    const runner = this.db.createQueryRunner();
    try {
      await runner.connect();
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        PRUNE_LOCK,
      ])) as Array<{ locked: boolean }>;
      if (!locked) return null;
      try {
        return await work({
          deleteFinishedExecutions: (days, limit) => deleted(runner, DELETE_EXECUTIONS, days, limit),
          deleteIdempotencyKeys: (days, limit) => deleted(runner, DELETE_KEYS, days, limit),
        });
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [PRUNE_LOCK]);
      }
    } finally {
      await runner.release();
    }
  }
}

async function deleted(runner: QueryRunner, sql: string, days: number, limit: number): Promise<number> {
  // TypeORM answers a DELETE with [rows, affected count].
  const [, affected] = (await runner.query(sql, [days, limit])) as [unknown, number];
  return affected;
}
