import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { Batcher } from 'src/common/batcher';
import { jsonb } from 'src/common/jsonb';
import { StepRecord } from 'src/executions/execution.entity';
import { ExecutionLauncher } from 'src/executions/execution-launcher.service';
import { ItemKey, keyText } from 'src/executions/loops/iteration.repository';
import { CompiledLoop } from 'src/flows/flow-compiler';
import { stepJobId } from 'src/queue/queue.constants';

/** The end of one item: its final status, the output of its last step that ran, its error. */
export interface ItemEnd {
  key: ItemKey;
  fence: string;
  status: 'succeeded' | 'failed';
  steps: Record<string, StepRecord>;
  output: unknown;
  error: string | null;
}

/** A job to add once the transaction that claimed it has committed. */
interface Claimed {
  data: { v: 1; executionId: string; stepId: string; item?: { loop: string; idx: number } };
  jobId: string;
}

interface LoopRow {
  execution_id: string;
  step_id: string;
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  concurrency: number;
  stop_on_error: boolean;
  first_step: string;
  main_seq: string;
  first_error: string | null;
  /** The execution's status, read with the lock: a cancelled execution claims no more items. */
  ex_status: string;
}

const ACTIVE = `('queued', 'running', 'waiting')`;

/**
 * Drives forEach loops (API.md section 3). The main lane stops at a forEach; start() commits, in one
 * transaction, the execution's progress (no job of its own while the loop runs), one row per item
 * and the loop's counter row, and claims the first `concurrency` items. Each item runs as jobs of its
 * own (LoopItemRunner); its end (finish) updates its row and the counters under the loop row's lock,
 * claims the next pending items in item order, and when none is pending or running ends the loop:
 * the forEach's record (the outputs in item order) goes to the execution with a new main-lane job.
 * Locks are taken loop row first, then item rows, then the execution row — cancel() follows the same
 * order, so these never deadlock. Jobs are added after the commit; the reconciler covers a crash.
 */
@Injectable()
export class LoopCoordinator {
  private readonly logger = new Logger(LoopCoordinator.name);
  private readonly ends = new Batcher<ItemEnd, boolean>((e) => this.finishBatch(e));

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly launcher: ExecutionLauncher,
  ) {}

  private get pool(): Pool {
    return (this.db.driver as PostgresDriver).master as Pool;
  }

  /** Whether this forEach of the execution has started before (a retry resumes it). */
  async exists(executionId: string, loop: string): Promise<boolean> {
    const r = await this.pool.query(`SELECT 1 FROM loops WHERE execution_id = $1 AND step_id = $2`, [
      executionId,
      loop,
    ]);
    return r.rowCount !== null && r.rowCount > 0;
  }

  /**
   * The main lane reached the forEach: `items` to start it, null to resume it after a retry (failed
   * and cancelled items run again). False when the job no longer owns the execution.
   */
  async start(
    ex: { id: string; fence: string; mainSeq: number; steps: Record<string, StepRecord> },
    loop: { id: string; def: CompiledLoop },
    items: unknown[] | null,
  ): Promise<boolean> {
    const claimed = await this.tx(async (c) => {
      const owned = await c.query(
        `UPDATE executions SET status = 'running', steps = $2::jsonb, error = NULL, job_id = NULL, run_at = NULL,
                started_at = COALESCE(started_at, now()), updated_at = now()
          WHERE id = $1 AND job_id = $3 AND status IN ${ACTIVE}`,
        [ex.id, jsonb(ex.steps), ex.fence],
      );
      if (owned.rowCount === 0) return null;
      if (items) {
        await c.query(
          `INSERT INTO loops (execution_id, step_id, total, pending, concurrency, stop_on_error, first_step, main_seq)
           VALUES ($1, $2, $3, $3, $4, $5, $6, $7)`,
          [
            ex.id,
            loop.id,
            items.length,
            loop.def.concurrency,
            loop.def.onItemError === 'stop',
            loop.def.steps[0]?.def.id ?? '_',
            ex.mainSeq,
          ],
        );
        await c.query(
          `INSERT INTO iterations (execution_id, step_id, idx, status, item)
           SELECT $1, $2, (t.ord - 1)::int, 'pending', t.value FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY t(value, ord)`,
          [ex.id, loop.id, jsonb(items)],
        );
      } else {
        const reset = await c.query<{ was: string }>(
          `UPDATE iterations it SET status = 'pending', output = NULL, error = NULL, job_id = NULL, run_at = NULL,
                  updated_at = now()
             FROM iterations old
            WHERE it.execution_id = $1 AND it.step_id = $2 AND it.status IN ('failed', 'cancelled')
              AND old.execution_id = it.execution_id AND old.step_id = it.step_id AND old.idx = it.idx
            RETURNING old.status AS was`,
          [ex.id, loop.id],
        );
        const failed = reset.rows.filter((r) => r.was === 'failed').length;
        await c.query(
          `UPDATE loops SET pending = pending + $3, failed = failed - $4, cancelled = cancelled - $5,
                  first_error = NULL, main_seq = $6
            WHERE execution_id = $1 AND step_id = $2`,
          [ex.id, loop.id, reset.rows.length, failed, reset.rows.length - failed, ex.mainSeq],
        );
      }
      const row = await this.lock(c, [{ executionId: ex.id, loop: loop.id }]);
      return this.settle(c, row[0]);
    });
    if (!claimed) return false;
    this.enqueue(claimed);
    return true;
  }

  /** An item has ended (the item job's walk is over); batched with other items' ends. */
  finish(end: ItemEnd): Promise<boolean> {
    return this.ends.submit(end);
  }

  private async finishBatch(ends: ItemEnd[]): Promise<boolean[]> {
    const out = await this.tx(async (c) => {
      const loops = await this.lock(
        c,
        ends.map((e) => ({ executionId: e.key.executionId, loop: e.key.loop })),
      );
      const done = await c.query<{
        execution_id: string;
        step_id: string;
        idx: number;
        status: string;
        error: string | null;
      }>(
        `UPDATE iterations it
            SET status = v.status, steps = v.steps, output = v.output, error = v.error, job_id = NULL,
                run_at = NULL, updated_at = now()
           FROM jsonb_to_recordset($1::jsonb)
                AS v(e uuid, s text, i int, fence text, status text, steps jsonb, output jsonb, error text)
          WHERE it.execution_id = v.e AND it.step_id = v.s AND it.idx = v.i
            AND it.job_id = v.fence AND it.status IN ('running', 'waiting')
          RETURNING it.execution_id, it.step_id, it.idx, it.status, it.error`,
        [
          jsonb(
            ends.map((e) => ({
              e: e.key.executionId,
              s: e.key.loop,
              i: e.key.idx,
              fence: e.fence,
              status: e.status,
              steps: e.steps,
              output: e.output ?? null,
              error: e.error,
            })),
          ),
        ],
      );
      const claimed: Claimed[] = [];
      for (const l of loops) {
        const mine = done.rows
          .filter((r) => r.execution_id === l.execution_id && r.step_id === l.step_id)
          .sort((a, b) => a.idx - b.idx);
        // Fenced out (cancelled, or a job that is not the item's current one): nothing changes here.
        if (mine.length === 0) continue;
        for (const r of mine) {
          l.running--;
          if (r.status === 'succeeded') l.succeeded++;
          else {
            l.failed++;
            l.first_error ??= `item ${r.idx}: ${r.error ?? 'failed'}`;
          }
        }
        claimed.push(...(await this.settle(c, l)));
      }
      return {
        claimed,
        saved: new Set(
          done.rows.map((r) => keyText({ executionId: r.execution_id, loop: r.step_id, idx: r.idx })),
        ),
      };
    });
    this.enqueue(out.claimed);
    return ends.map((e) => out.saved.has(keyText(e.key)));
  }

  /**
   * The execution was cancelled: items not yet finished become `cancelled` and lose their jobs (an
   * attempt in flight finishes, and its result is not written, as for the main lane). Also run by an
   * item job that finds its execution no longer active, so a crash between the two loses nothing.
   */
  async cancel(executionId: string): Promise<void> {
    await this.tx(async (c) => {
      const loops = await c.query<{ step_id: string }>(
        `SELECT step_id FROM loops WHERE execution_id = $1 ORDER BY step_id FOR UPDATE`,
        [executionId],
      );
      if (loops.rows.length === 0) return;
      await c.query(
        `UPDATE iterations SET status = 'cancelled', job_id = NULL, run_at = NULL, updated_at = now()
          WHERE execution_id = $1 AND status IN ('pending', 'running', 'waiting')`,
        [executionId],
      );
      await c.query(
        `UPDATE loops SET cancelled = cancelled + pending + running, pending = 0, running = 0 WHERE execution_id = $1`,
        [executionId],
      );
    });
  }

  /** Locks the loop rows, in one order across transactions, with their execution's status. */
  private async lock(c: PoolClient, keys: Array<{ executionId: string; loop: string }>): Promise<LoopRow[]> {
    const r = await c.query<LoopRow>(
      `SELECT l.*, e.status AS ex_status
         FROM loops l JOIN executions e ON e.id = l.execution_id
        WHERE (l.execution_id, l.step_id) IN (SELECT v.e, v.s FROM jsonb_to_recordset($1::jsonb) AS v(e uuid, s text))
        ORDER BY l.execution_id, l.step_id
          FOR UPDATE OF l`,
      [jsonb(keys.map((k) => ({ e: k.executionId, s: k.loop })))],
    );
    return r.rows;
  }

  /**
   * After a change to a loop (locked): cancels what is pending once an item failed under `stop`,
   * claims pending items up to `concurrency` in item order, writes the counters, and ends the loop
   * when nothing is pending or running. Returns the jobs to add after the commit.
   */
  private async settle(c: PoolClient, l: LoopRow): Promise<Claimed[]> {
    const claimed: Claimed[] = [];
    if (l.stop_on_error && l.failed > 0 && l.pending > 0) {
      const cancelled = await c.query(
        `UPDATE iterations SET status = 'cancelled', updated_at = now()
          WHERE execution_id = $1 AND step_id = $2 AND status = 'pending'`,
        [l.execution_id, l.step_id],
      );
      l.cancelled += cancelled.rowCount ?? 0;
      l.pending = 0;
    }
    const active = ['queued', 'running', 'waiting'].includes(l.ex_status);
    const free = active ? Math.max(0, Math.min(l.concurrency - l.running, l.pending)) : 0;
    // The claim and the counters in one statement (one round trip while the loop row is locked).
    const r = await c.query<{ idx: number; job_id: string }>(
      `WITH c AS (
         UPDATE iterations it
            SET status = 'running', job_id = format('%s:%s#%s:%s:%s', it.execution_id, it.step_id, it.idx, $3::text, $4::text),
                run_at = now(), updated_at = now()
          WHERE it.execution_id = $1 AND it.step_id = $2 AND it.status = 'pending' AND it.idx IN (
                SELECT idx FROM iterations WHERE execution_id = $1 AND step_id = $2 AND status = 'pending'
                 ORDER BY idx LIMIT $5)
          RETURNING it.idx, it.job_id),
       u AS (
         UPDATE loops SET pending = $6 - (SELECT count(*) FROM c), running = $7 + (SELECT count(*) FROM c),
                succeeded = $8, failed = $9, cancelled = $10, first_error = $11
          WHERE execution_id = $1 AND step_id = $2)
       SELECT idx, job_id FROM c ORDER BY idx`,
      [
        l.execution_id,
        l.step_id,
        l.first_step,
        l.main_seq,
        free,
        l.pending,
        l.running,
        l.succeeded,
        l.failed,
        l.cancelled,
        l.first_error,
      ],
    );
    for (const row of r.rows) {
      claimed.push({
        data: {
          v: 1,
          executionId: l.execution_id,
          stepId: l.first_step,
          item: { loop: l.step_id, idx: row.idx },
        },
        jobId: row.job_id,
      });
    }
    l.pending -= r.rows.length;
    l.running += r.rows.length;
    if (active && l.pending === 0 && l.running === 0) {
      const main = await this.end(c, l);
      if (main) claimed.push(main);
    }
    return claimed;
  }

  /** Every item is over: the forEach's record goes to the execution, and the main lane goes on. */
  private async end(c: PoolClient, l: LoopRow): Promise<Claimed | null> {
    const failed = l.failed > 0 || l.cancelled > 0;
    let error: string | null = null;
    if (failed) {
      error = l.stop_on_error
        ? (l.first_error ?? `${l.cancelled} items were cancelled`)
        : `${l.failed} of ${l.total} items failed; first: ${l.first_error ?? 'unknown'}`;
    }
    const jobId = stepJobId(l.execution_id, l.step_id, Number(l.main_seq));
    const r = await c.query(
      `UPDATE executions e
          SET steps = jsonb_set(e.steps, ARRAY[$2::text],
                (COALESCE(e.steps -> $2::text, '{"attempts": []}'::jsonb) - 'error')
                || jsonb_build_object('status', $3::text,
                     'output', (SELECT COALESCE(jsonb_agg(COALESCE(output, 'null'::jsonb) ORDER BY idx), '[]'::jsonb)
                                  FROM iterations WHERE execution_id = $1 AND step_id = $2))
                || CASE WHEN $4::text IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('error', $4::text) END),
              job_id = $5, run_at = now(), status = 'running', updated_at = now()
        WHERE e.id = $1 AND e.job_id IS NULL AND e.status IN ${ACTIVE}`,
      [l.execution_id, l.step_id, failed ? 'failed' : 'succeeded', error, jobId],
    );
    if (r.rowCount === 0) return null;
    return { data: { v: 1, executionId: l.execution_id, stepId: l.step_id }, jobId };
  }

  private enqueue(claimed: Claimed[]): void {
    // Committed first: a job lost here is added again by the reconciler from the rows.
    for (const j of claimed) this.launcher.enqueue(j.data, j.jobId);
  }

  private async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch((err: unknown) => this.logger.warn({ err }, 'rollback failed'));
      throw e;
    } finally {
      c.release();
    }
  }
}
