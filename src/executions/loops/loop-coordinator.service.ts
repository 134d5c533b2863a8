import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient, QueryResult } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { Batcher } from 'src/common/batcher';
import { jsonb } from 'src/common/jsonb';
import { StepRecord } from 'src/executions/execution.entity';
import { ExecutionLauncher } from 'src/executions/execution-launcher.service';
import { ItemKey, keyText } from 'src/executions/loops/iteration.repository';
import {
  LoopCounts,
  endLoopSql,
  endNestedLoopSql,
  finishItemsSql,
  lockLoopsSql,
  settleSql,
} from 'src/executions/loops/loop-sql';
import { LoopItem, bodyLoops, parseLoopPath } from 'src/executions/loops/loop-path';
import { CompiledLoop } from 'src/flows/flow-compiler';
import { firstStepOf, itemJobId, stepJobId } from 'src/queue/queue.constants';

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

interface LoopRow extends LoopCounts {
  stop_on_error: boolean;
  /** The execution's status, read with the lock: a cancelled execution claims no more items. */
  ex_status: string;
}

const ACTIVE = `('queued', 'running', 'waiting')`;

/** The statements that settle one loop: the claim and counters first, then its end if it ends. */
interface Settlement {
  loop: LoopRow;
  statements: string[];
  /** When the loop ends: the next job of the lane it stopped (added only if the end was written). */
  next: Claimed | null;
}

/** Whoever stopped at a forEach: the main lane (its job fences the execution) or an item of another loop. */
export interface LoopOwner {
  executionId: string;
  /** The job that reached the loop: it must still own the execution (or the item). */
  fence: string;
  /** The sequence number of the owner's job after the loop. */
  nextSeq: number;
  /** The owner's step records, the forEach's included, to store as the loop starts. */
  steps: Record<string, StepRecord>;
  /** Set when the loop runs inside an item of another loop. */
  item?: LoopItem;
}

/** Statements sent as one simple-protocol query (one round trip), one result each. */
async function multi(c: PoolClient, statements: string[]): Promise<QueryResult[]> {
  if (statements.length === 0) return [];
  const r = (await c.query(statements.join(';\n'))) as QueryResult | QueryResult[];
  return Array.isArray(r) ? r : [r];
}

/** The jobs to add after the commit, from the settlements' results (in the order they were sent). */
function claimsOf(plans: Settlement[], results: QueryResult[]): Claimed[] {
  const claimed: Claimed[] = [];
  let n = 0;
  for (const { loop: l, statements, next } of plans) {
    for (const row of results[n].rows as Array<{ idx: number; job_id: string }>) {
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
    if (next && (results[n + 1].rowCount ?? 0) > 0) claimed.push(next);
    n += statements.length;
  }
  return claimed;
}

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
   * The main lane (or an item of an outer loop) reached the forEach `loop.id` (its path, loop-path.ts):
   * `items` to start it, null to resume it after a retry (failed and cancelled items run again). False
   * when the job no longer owns the execution (or the item).
   */
  async start(
    owner: LoopOwner,
    loop: { id: string; def: CompiledLoop },
    items: unknown[] | null,
  ): Promise<boolean> {
    const claimed = await this.tx(async (c) => {
      // The owner's record is kept with no job while the loop runs; the loop's end hands it the next.
      const owned = owner.item
        ? await c.query(
            `UPDATE iterations it SET status = 'running', steps = $2::jsonb, job_id = NULL, run_at = NULL, updated_at = now()
               FROM executions e
              WHERE it.execution_id = $1 AND it.step_id = $4 AND it.idx = $5 AND it.job_id = $3
                AND it.status IN ('running', 'waiting') AND e.id = it.execution_id AND e.status IN ${ACTIVE}`,
            [owner.executionId, jsonb(owner.steps), owner.fence, owner.item.loop, owner.item.idx],
          )
        : await c.query(
            `UPDATE executions SET status = 'running', steps = $2::jsonb, error = NULL, job_id = NULL, run_at = NULL,
                    started_at = COALESCE(started_at, now()), updated_at = now()
              WHERE id = $1 AND job_id = $3 AND status IN ${ACTIVE}`,
            [owner.executionId, jsonb(owner.steps), owner.fence],
          );
      if (owned.rowCount === 0) return null;
      if (items) {
        await c.query(
          `INSERT INTO loops (execution_id, step_id, total, pending, concurrency, stop_on_error, first_step, main_seq)
           VALUES ($1, $2, $3, $3, $4, $5, $6, $7)`,
          [
            owner.executionId,
            loop.id,
            items.length,
            loop.def.concurrency,
            loop.def.onItemError === 'stop',
            firstStepOf(loop.def),
            owner.nextSeq,
          ],
        );
        await c.query(
          `INSERT INTO iterations (execution_id, step_id, idx, status, item)
           SELECT $1, $2, (t.ord - 1)::int, 'pending', t.value FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY t(value, ord)`,
          [owner.executionId, loop.id, jsonb(items)],
        );
      } else {
        // An item's own loops that failed or were cancelled resume too (pending: the item's walk
        // enters them again and finds them started), as the main lane's retry does with this one.
        const reset = await c.query<{ was: string }>(
          `UPDATE iterations it SET status = 'pending', output = NULL, error = NULL, job_id = NULL, run_at = NULL,
                  updated_at = now(),
                  steps = it.steps || COALESCE(
                    (SELECT jsonb_object_agg(k, ((it.steps -> k) - 'error') || '{"status": "pending"}'::jsonb)
                       FROM unnest($3::text[]) k WHERE it.steps -> k ->> 'status' IN ('failed', 'cancelled')),
                    '{}'::jsonb)
             FROM iterations old
            WHERE it.execution_id = $1 AND it.step_id = $2 AND it.status IN ('failed', 'cancelled')
              AND old.execution_id = it.execution_id AND old.step_id = it.step_id AND old.idx = it.idx
            RETURNING old.status AS was`,
          [owner.executionId, loop.id, bodyLoops(loop.def.steps)],
        );
        const failed = reset.rows.filter((r) => r.was === 'failed').length;
        await c.query(
          `UPDATE loops SET pending = pending + $3, failed = failed - $4, cancelled = cancelled - $5,
                  first_error = NULL, main_seq = $6, next_idx = 0
            WHERE execution_id = $1 AND step_id = $2`,
          [owner.executionId, loop.id, reset.rows.length, failed, reset.rows.length - failed, owner.nextSeq],
        );
      }
      const locked = await c.query<LoopRow>(
        lockLoopsSql([{ executionId: owner.executionId, loop: loop.id }]),
      );
      const plans = locked.rows.map((l) => this.settlement(l));
      return claimsOf(
        plans,
        await multi(
          c,
          plans.flatMap((p) => p.statements),
        ),
      );
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
    const c = await this.pool.connect();
    try {
      // Round trip 1: the loop rows locked (loop row first, as everywhere), the items' ends written.
      const [, locked, done] = await multi(c, [
        'BEGIN',
        lockLoopsSql(ends.map((e) => ({ executionId: e.key.executionId, loop: e.key.loop }))),
        finishItemsSql(
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
      ]);
      const rows = done.rows as Array<{
        execution_id: string;
        step_id: string;
        idx: number;
        status: string;
        error: string | null;
      }>;
      const plans: Settlement[] = [];
      for (const l of locked.rows as LoopRow[]) {
        const mine = rows
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
        plans.push(this.settlement(l));
      }
      // Round trip 2: every loop settled (claims, counters, a loop's end) and the commit.
      const results = await multi(c, [...plans.flatMap((p) => p.statements), 'COMMIT']);
      this.enqueue(claimsOf(plans, results));
      const saved = new Set(
        rows.map((r) => keyText({ executionId: r.execution_id, loop: r.step_id, idx: r.idx })),
      );
      return ends.map((e) => saved.has(keyText(e.key)));
    } catch (e) {
      await c.query('ROLLBACK').catch((err: unknown) => this.logger.warn({ err }, 'rollback failed'));
      throw e;
    } finally {
      c.release();
    }
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

  /**
   * What settling a loop (locked, its counters updated in memory) takes: cancel what is pending once
   * an item failed under `stop`, claim pending items up to `concurrency` in item order, write the
   * counters, and end the loop when nothing is pending or running — decided here from the counters,
   * so that the statements go to PostgreSQL together with the commit.
   */
  private settlement(l: LoopRow): Settlement {
    const stopping = l.stop_on_error && l.failed > 0 && l.pending > 0;
    const pending = stopping ? 0 : l.pending;
    const active = ['queued', 'running', 'waiting'].includes(l.ex_status);
    const free = active ? Math.max(0, Math.min(l.concurrency - l.running, pending)) : 0;
    const plan: Settlement = { loop: l, statements: [settleSql(l, stopping, free)], next: null };
    if (active && pending === 0 && l.running === 0) {
      // Every item is over: the forEach's record goes to the execution, and the main lane goes on.
      const cancelled = l.cancelled + (stopping ? l.pending : 0);
      const failed = l.failed > 0 || cancelled > 0;
      let error: string | null = null;
      if (failed) {
        error = l.stop_on_error
          ? (l.first_error ?? `${cancelled} items were cancelled`)
          : `${l.failed} of ${l.total} items failed; first: ${l.first_error ?? 'unknown'}`;
      }
      const status = failed ? 'failed' : 'succeeded';
      const { stepId, parent } = parseLoopPath(l.step_id);
      const seq = Number(l.main_seq);
      if (parent) {
        // A loop inside an item: that item goes on.
        const jobId = itemJobId(l.execution_id, parent.loop, parent.idx, stepId, seq);
        plan.next = { data: { v: 1, executionId: l.execution_id, stepId, item: parent }, jobId };
        plan.statements.push(endNestedLoopSql(l, stepId, parent, status, error, jobId));
      } else {
        const jobId = stepJobId(l.execution_id, l.step_id, seq);
        plan.next = { data: { v: 1, executionId: l.execution_id, stepId }, jobId };
        plan.statements.push(endLoopSql(l, status, error, jobId));
      }
    }
    return plan;
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
