import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { NO_STEP, stepOfJobId } from 'src/queue/queue.constants';

/** First key of the two-int advisory locks taken per concurrency key (the other is hashtext(key)). */
const CLAIM_LOCK = 7_346_003;
/** A flow whose `concurrency` was removed drains its line this many at a time. */
const NO_LIMIT = 1000;

/** An execution that got a slot: its first job is to be added once the claim has committed. */
export interface ClaimedStart {
  executionId: string;
  jobId: string;
  stepId: string;
}

/** Waiting in line: queued, no job yet (the rows of executions_concurrency_queue_idx). */
const IN_LINE = `status = 'queued' AND job_id IS NULL`;
/**
 * Holding a slot: started and not final — `running` or `waiting` (a retry back-off or a delay keeps
 * its slot), or `queued` with a job (claimed, its first job not yet run). A running forEach has no
 * job of its own (job_id NULL) but is `running`, so it counts too.
 */
const HOLDING = `status IN ('queued', 'running', 'waiting') AND NOT (${IN_LINE})`;

/**
 * The SQL of flow-level `concurrency` (API.md §3). Executions of such a flow are written `queued`
 * with no job and a `concurrency_key` (the flow id, `/`, a digest of the key's value); claim() gives
 * the oldest of them (ORDER BY concurrency_seq: acceptance order) a job while the key has room.
 */
@Injectable()
export class ConcurrencyRepository {
  private readonly logger = new Logger(ConcurrencyRepository.name);

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  private get pool(): Pool {
    return (this.db.driver as PostgresDriver).master as Pool;
  }

  /**
   * Gives a job to the oldest executions in line for `key`, up to the flow's current limit minus
   * those holding a slot. Claims for one key take turns under a transaction-scoped advisory lock, and
   * the counting statement runs after the lock is held — so it sees every claim committed before
   * (READ COMMITTED takes a snapshot per statement) and two processes never hand out one slot twice.
   * The first job's id is built like stepJobId (`id:firstStep:1`, firstStepOf) from the execution's version.
   */
  async claim(key: string): Promise<ClaimedStart[]> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CLAIM_LOCK, key]);
      // A cancel that took a row meanwhile is seen by the recheck of e's own conditions: not claimed.
      const r = await c.query<{ id: string; job_id: string; concurrency_seq: string }>(
        `WITH room AS (
           SELECT COALESCE((SELECT (f.definition->'concurrency'->>'limit')::int FROM flows f
                             WHERE f.id = split_part($1, '/', 1)::uuid), ${NO_LIMIT})
                  - (SELECT count(*) FROM executions WHERE concurrency_key = $1 AND ${HOLDING}) AS n),
         next AS (
           SELECT id FROM executions WHERE concurrency_key = $1 AND ${IN_LINE}
            ORDER BY concurrency_seq LIMIT GREATEST((SELECT n FROM room), 0))
         UPDATE executions e
            SET job_id = format('%s:%s:%s', e.id,
                  COALESCE((SELECT v.definition->'steps'->0->>'id' FROM flow_versions v
                             WHERE v.flow_id = e.flow_id AND v.version = e.flow_version), $2::text),
                  -- A retried execution back in line: a fresh sequence (the clock), as retry() uses.
                  CASE WHEN e.started_at IS NULL THEN 1
                       ELSE (extract(epoch FROM clock_timestamp()) * 1000)::bigint END),
                run_at = now(), updated_at = now()
           FROM next
          WHERE e.id = next.id AND e.status = 'queued' AND e.job_id IS NULL
          RETURNING e.id, e.job_id, e.concurrency_seq`,
        [key, NO_STEP],
      );
      await c.query('COMMIT');
      const rows = r.rows.sort((a, b) => Number(a.concurrency_seq) - Number(b.concurrency_seq));
      return rows.map((row) => ({
        executionId: row.id,
        jobId: row.job_id,
        stepId: stepOfJobId(row.job_id),
      }));
    } catch (e) {
      await c.query('ROLLBACK').catch((err: unknown) => this.logger.warn({ err }, 'rollback failed'));
      throw e;
    } finally {
      c.release();
    }
  }

  /**
   * Keys with an execution in line for longer than `olderThanMs` and room for it: a slot freed by a
   * process that stopped before it claimed the next one. The keys are found by a skip scan of the
   * line's index (one probe per key, however long each key's line is).
   */
  async stalledKeys(olderThanMs: number, limit: number): Promise<string[]> {
    const r = await this.pool.query<{ key: string }>(
      `WITH RECURSIVE k AS (
         (SELECT concurrency_key AS key FROM executions
           WHERE concurrency_key IS NOT NULL AND ${IN_LINE} ORDER BY concurrency_key LIMIT 1)
         UNION ALL
         SELECT (SELECT e.concurrency_key FROM executions e
                  WHERE e.concurrency_key > k.key AND e.concurrency_key IS NOT NULL
                    AND e.status = 'queued' AND e.job_id IS NULL
                  ORDER BY e.concurrency_key LIMIT 1)
           FROM k WHERE k.key IS NOT NULL)
       SELECT k.key FROM k
        WHERE k.key IS NOT NULL
          AND (SELECT min(created_at) FROM executions
                WHERE concurrency_key = k.key AND ${IN_LINE}) < now() - ($1::int * interval '1 millisecond')
          AND (SELECT count(*) FROM executions WHERE concurrency_key = k.key AND ${HOLDING})
              < COALESCE((SELECT (f.definition->'concurrency'->>'limit')::int FROM flows f
                           WHERE f.id = split_part(k.key, '/', 1)::uuid), ${NO_LIMIT})
        LIMIT $2`,
      [olderThanMs, limit],
    );
    return r.rows.map((row) => row.key);
  }
}
