import { escapeLiteral } from 'pg';
import { jsonb } from 'src/common/jsonb';

/**
 * SQL text for the LoopCoordinator's transactions, with the values written in as literals. The
 * coordinator sends several statements as one simple-protocol query (one round trip for
 * `BEGIN; lock; update`, one for `settle; end; COMMIT`) instead of one round trip per statement:
 * finishing items runs under the loop row's lock, so every round trip there is time no other item
 * of the loop can finish or start (docs/performance.md, "Fan-out"). Parameters cannot be used with
 * more than one statement per query, hence literals — built only here, each through lit().
 */

/** A value as a PostgreSQL literal: integers and booleans as they are, text quoted, objects as jsonb. */
export function lit(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return escapeLiteral(value);
  return `${escapeLiteral(jsonb(value))}::jsonb`;
}

/** Loop rows, in one order across transactions, locked, with their execution's status. */
export function lockLoopsSql(keys: Array<{ executionId: string; loop: string }>): string {
  return `SELECT l.*, e.status AS ex_status
    FROM loops l JOIN executions e ON e.id = l.execution_id
   WHERE (l.execution_id, l.step_id) IN (
         SELECT v.e, v.s FROM jsonb_to_recordset(${lit(keys.map((k) => ({ e: k.executionId, s: k.loop })))}) AS v(e uuid, s text))
   ORDER BY l.execution_id, l.step_id
     FOR UPDATE OF l`;
}

/** Ends of items written to their rows, fenced by the job that ran them. */
export function finishItemsSql(
  ends: Array<{
    e: string;
    s: string;
    i: number;
    fence: string;
    status: string;
    steps: unknown;
    output: unknown;
    error: string | null;
  }>,
): string {
  return `UPDATE iterations it
      SET status = v.status, steps = v.steps, output = v.output, error = v.error, job_id = NULL,
          run_at = NULL, updated_at = now()
     FROM jsonb_to_recordset(${lit(ends)})
          AS v(e uuid, s text, i int, fence text, status text, steps jsonb, output jsonb, error text)
    WHERE it.execution_id = v.e AND it.step_id = v.s AND it.idx = v.i
      AND it.job_id = v.fence AND it.status IN ('running', 'waiting')
    RETURNING it.execution_id, it.step_id, it.idx, it.status, it.error`;
}

/** A loop row as settle() reads and writes it. */
export interface LoopCounts {
  execution_id: string;
  step_id: string;
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  concurrency: number;
  first_step: string;
  main_seq: string;
  first_error: string | null;
  /** Claims look for pending items from here on (every item before it has been claimed). */
  next_idx: number;
}

/**
 * One statement: cancels the pending items when `stopping` (then `free` is 0), claims up to `free`
 * pending items in item order from `next_idx` on (so the index scan starts there, not at the loop's
 * first item), and writes the loop's counters and the next `next_idx`. Answers the claimed items.
 * The claim picks its items first, and the update reads them through an index range (the picked
 * items' first to last): with `idx IN (pick)` alone, statistics that estimate one pending row (a new
 * loop's, or any on a large table) gave a plan that ran the pick once per pending item — 180 ms per
 * claim at 8,700 pending items.
 */
export function settleSql(l: LoopCounts, stopping: boolean, free: number): string {
  const at = `it.execution_id = ${lit(l.execution_id)} AND it.step_id = ${lit(l.step_id)}`;
  const from = `${at} AND it.idx >= ${lit(l.next_idx)}`;
  return `WITH x AS (
     UPDATE iterations it SET status = 'cancelled', updated_at = now()
      WHERE ${from} AND it.status = 'pending' AND ${lit(stopping)}
      RETURNING it.idx),
   pick AS (
     SELECT it.idx FROM iterations it WHERE ${from} AND it.status = 'pending' ORDER BY it.idx LIMIT ${lit(free)}),
   c AS (
     UPDATE iterations it
        SET status = 'running', job_id = format('%s:%s#%s:%s:%s', it.execution_id, it.step_id, it.idx,
              ${lit(l.first_step)}::text, ${lit(String(l.main_seq))}::text),
            run_at = now(), updated_at = now()
      WHERE ${at} AND it.idx BETWEEN (SELECT min(idx) FROM pick) AND (SELECT max(idx) FROM pick)
        AND it.idx IN (SELECT idx FROM pick) AND it.status = 'pending'
      RETURNING it.idx, it.job_id),
   u AS (
     UPDATE loops
        SET pending = CASE WHEN ${lit(stopping)} THEN 0 ELSE ${lit(l.pending)} - (SELECT count(*) FROM c) END,
            running = ${lit(l.running)} + (SELECT count(*) FROM c), succeeded = ${lit(l.succeeded)},
            failed = ${lit(l.failed)}, cancelled = ${lit(l.cancelled)} + (SELECT count(*) FROM x),
            first_error = ${lit(l.first_error)},
            next_idx = COALESCE((SELECT max(idx) + 1 FROM c), ${lit(l.next_idx)})
      WHERE execution_id = ${lit(l.execution_id)} AND step_id = ${lit(l.step_id)})
   SELECT idx, job_id FROM c ORDER BY idx`;
}

/** The forEach's record once every item is over: its status, the outputs in item order, its error. */
function endedRecord(
  record: string,
  l: Pick<LoopCounts, 'execution_id' | 'step_id'>,
  stepId: string,
  status: 'succeeded' | 'failed',
  error: string | null,
): string {
  const s = `${lit(stepId)}::text`;
  return `jsonb_set(${record}, ARRAY[${s}],
            (COALESCE(${record} -> ${s}, '{"attempts": []}'::jsonb) - 'error')
            || jsonb_build_object('status', ${lit(status)}::text,
                 'output', (SELECT COALESCE(jsonb_agg(COALESCE(output, 'null'::jsonb) ORDER BY idx), '[]'::jsonb)
                              FROM iterations WHERE execution_id = ${lit(l.execution_id)} AND step_id = ${lit(l.step_id)}))
            || ${error === null ? `'{}'::jsonb` : `jsonb_build_object('error', ${lit(error)}::text)`})`;
}

/**
 * Every item is over: the forEach's record (the outputs in item order) goes to the execution, with
 * the main lane's next job `jobId`. Changes nothing when another job owns the execution, or it ended.
 */
export function endLoopSql(
  l: Pick<LoopCounts, 'execution_id' | 'step_id'>,
  status: 'succeeded' | 'failed',
  error: string | null,
  jobId: string,
): string {
  return `UPDATE executions e
      SET steps = ${endedRecord('e.steps', l, l.step_id, status, error)},
          job_id = ${lit(jobId)}, run_at = now(), status = 'running', updated_at = now()
    WHERE e.id = ${lit(l.execution_id)} AND e.job_id IS NULL AND e.status IN ('queued', 'running', 'waiting')`;
}

/**
 * The same for a loop inside another loop's item (src/executions/loops/loop-path.ts): the record goes
 * to that item's own step records, and the item goes on with its next job `jobId`.
 */
export function endNestedLoopSql(
  l: Pick<LoopCounts, 'execution_id' | 'step_id'>,
  stepId: string,
  parent: { loop: string; idx: number },
  status: 'succeeded' | 'failed',
  error: string | null,
  jobId: string,
): string {
  return `UPDATE iterations it
      SET steps = ${endedRecord('it.steps', l, stepId, status, error)},
          job_id = ${lit(jobId)}, run_at = now(), status = 'running', updated_at = now()
     FROM executions e
    WHERE it.execution_id = ${lit(l.execution_id)} AND it.step_id = ${lit(parent.loop)} AND it.idx = ${lit(parent.idx)}
      AND it.job_id IS NULL AND it.status IN ('running', 'waiting')
      AND e.id = it.execution_id AND e.status IN ('queued', 'running', 'waiting')`;
}
