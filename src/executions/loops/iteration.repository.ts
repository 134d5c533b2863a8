import { Injectable } from '@nestjs/common';
import { Batcher } from 'src/common/batcher';
import { jsonb } from 'src/common/jsonb';
import { Sql } from 'src/database/sql.service';
import { StepRecord, StepStatus } from 'src/executions/execution.entity';

/** One item of one forEach of one execution. */
export interface ItemKey {
  executionId: string;
  loop: string;
  idx: number;
}

export interface IterationState extends ItemKey {
  status: StepStatus;
  item: unknown;
  steps: Record<string, StepRecord>;
  jobId: string | null;
  /** Read in the same statement: whether the execution is still active, and the secrets' version. */
  executionStatus: string;
  secretsVersion: number;
}

/** An item handed to its next job (a retry's back-off, a delay, the next outbound step). */
export interface ItemProgress {
  status: 'running' | 'waiting';
  steps: Record<string, StepRecord>;
  jobId: string;
  runAt: Date;
}

export interface LoopCounters {
  total: number;
  succeeded: number;
  failed: number;
  running: number;
  pending: number;
  cancelled: number;
}

export interface IterationRow {
  idx: number;
  status: StepStatus;
  item: unknown;
  steps: Record<string, StepRecord>;
  output: unknown;
  error: string | null;
}

/** Statuses of an item that has a job (claimed, or handed on), as the reconciler sees them. */
export const ITEM_ACTIVE = `('running', 'waiting')`;

/** The (execution, loop, item) keys of a batch as one JSON document, read by jsonb_to_recordset. */
const KEYS = `jsonb_to_recordset($1::jsonb) AS v(e uuid, s text, i int`;

/**
 * Hot-path SQL for items (one row each in `iterations`): loads and hand-offs from concurrent item
 * jobs are grouped into one statement, as ExecutionRepository does for executions.
 */
@Injectable()
export class IterationRepository {
  private readonly loads = new Batcher<ItemKey, IterationState | null>((k) => this.loadBatch(k));
  private readonly writes = new Batcher<{ key: ItemKey; fence: string; p: ItemProgress }, boolean>((w) =>
    this.saveBatch(w),
  );

  constructor(private readonly sql: Sql) {}

  load(key: ItemKey): Promise<IterationState | null> {
    return this.loads.submit(key);
  }

  /** Fenced by the job that did the work, like ExecutionRepository.saveProgress. */
  saveProgress(key: ItemKey, fence: string, p: ItemProgress): Promise<boolean> {
    return this.writes.submit({ key, fence, p });
  }

  private async loadBatch(keys: ItemKey[]): Promise<Array<IterationState | null>> {
    const rows: Array<Record<string, unknown>> = await this.sql.rows(
      `SELECT it.execution_id, it.step_id, it.idx, it.status, it.item, it.steps, it.job_id,
              e.status AS execution_status, (SELECT version FROM secrets_version) AS secrets_version
         FROM ${KEYS}) JOIN iterations it ON it.execution_id = v.e AND it.step_id = v.s AND it.idx = v.i
         JOIN executions e ON e.id = it.execution_id`,
      [jsonb(keys.map((k) => ({ e: k.executionId, s: k.loop, i: k.idx })))],
    );
    const byKey = new Map<string, IterationState>();
    for (const r of rows) {
      const key = { executionId: r.execution_id as string, loop: r.step_id as string, idx: r.idx as number };
      byKey.set(keyText(key), {
        ...key,
        status: r.status as StepStatus,
        item: r.item,
        steps: r.steps as Record<string, StepRecord>,
        jobId: r.job_id as string | null,
        executionStatus: r.execution_status as string,
        secretsVersion: r.secrets_version as number,
      });
    }
    return keys.map((k) => byKey.get(keyText(k)) ?? null);
  }

  private async saveBatch(
    batch: Array<{ key: ItemKey; fence: string; p: ItemProgress }>,
  ): Promise<boolean[]> {
    const rows: Array<Record<string, unknown>> = await this.sql.rows(
      `UPDATE iterations it
          SET status = v.status, steps = v.steps, job_id = v.job_id, run_at = v.run_at, updated_at = now()
         FROM ${KEYS}, fence text, status text, steps jsonb, job_id text, run_at timestamptz)
        WHERE it.execution_id = v.e AND it.step_id = v.s AND it.idx = v.i
          AND it.job_id = v.fence AND it.status IN ${ITEM_ACTIVE}
        RETURNING it.execution_id, it.step_id, it.idx`,
      [
        jsonb(
          batch.map(({ key, fence, p }) => ({
            e: key.executionId,
            s: key.loop,
            i: key.idx,
            fence,
            status: p.status,
            steps: p.steps,
            job_id: p.jobId,
            run_at: p.runAt,
          })),
        ),
      ],
    );
    const saved = new Set(
      rows.map((r) =>
        keyText({ executionId: r.execution_id as string, loop: r.step_id as string, idx: r.idx as number }),
      ),
    );
    return batch.map((w) => saved.has(keyText(w.key)));
  }

  /** Items with a job, untouched for a while: the reconciler checks that their job exists. */
  async stale(
    olderThanMs: number,
    limit: number,
  ): Promise<Array<ItemKey & { jobId: string; runAt: Date | null }>> {
    const rows: Array<Record<string, unknown>> = await this.sql.rows(
      `SELECT execution_id, step_id, idx, job_id, run_at FROM iterations
        WHERE status IN ${ITEM_ACTIVE} AND updated_at < now() - ($1::int * interval '1 millisecond')
          AND job_id IS NOT NULL
        ORDER BY updated_at LIMIT $2`,
      [olderThanMs, limit],
    );
    return rows.map((r) => ({
      executionId: r.execution_id as string,
      loop: r.step_id as string,
      idx: r.idx as number,
      jobId: r.job_id as string,
      runAt: r.run_at as Date | null,
    }));
  }

  /** The job each of these items still waits for (a second look before a re-add), by keyText. */
  async currentJobIds(keys: ItemKey[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const rows: Array<Record<string, unknown>> = await this.sql.rows(
      `SELECT it.execution_id, it.step_id, it.idx, it.job_id
         FROM ${KEYS}) JOIN iterations it ON it.execution_id = v.e AND it.step_id = v.s AND it.idx = v.i
        WHERE it.status IN ${ITEM_ACTIVE} AND it.job_id IS NOT NULL`,
      [jsonb(keys.map((k) => ({ e: k.executionId, s: k.loop, i: k.idx })))],
    );
    return new Map(
      rows.map((r) => [
        keyText({ executionId: r.execution_id as string, loop: r.step_id as string, idx: r.idx as number }),
        r.job_id as string,
      ]),
    );
  }

  /** Marks items as looked at, so the reconciler moves on to others. */
  async touch(keys: ItemKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.sql.rows(
      `UPDATE iterations it SET updated_at = now()
         FROM ${KEYS}) WHERE it.execution_id = v.e AND it.step_id = v.s AND it.idx = v.i
          AND it.status IN ${ITEM_ACTIVE}`,
      [jsonb(keys.map((k) => ({ e: k.executionId, s: k.loop, i: k.idx })))],
    );
  }

  /** The execution's main-lane loops with their counters (API.md section 6, a forEach's `iterations`). */
  async counters(executionId: string): Promise<Map<string, LoopCounters>> {
    const rows: Array<LoopCounters & { step_id: string }> = await this.sql.rows(
      // The main lane's loops only: one inside another loop's items runs once per item (loop-path.ts).
      `SELECT step_id, total, succeeded, failed, running, pending, cancelled FROM loops
        WHERE execution_id = $1 AND strpos(step_id, '[') = 0`,
      [executionId],
    );
    return new Map(rows.map(({ step_id, ...c }) => [step_id, c]));
  }

  /** The counters of these runs of loops (their paths, loop-path.ts), by path; a run not started has none. */
  async countersOf(executionId: string, paths: string[]): Promise<Map<string, LoopCounters>> {
    if (paths.length === 0) return new Map();
    const rows: Array<LoopCounters & { step_id: string }> = await this.sql.rows(
      `SELECT step_id, total, succeeded, failed, running, pending, cancelled FROM loops
        WHERE execution_id = $1 AND step_id = ANY($2::text[])`,
      [executionId, paths],
    );
    return new Map(rows.map(({ step_id, ...c }) => [step_id, c]));
  }

  /** One page of a loop's items in item order, after item `afterIdx`. */
  async page(
    executionId: string,
    loop: string,
    status: string | undefined,
    afterIdx: number,
    limit: number,
  ): Promise<IterationRow[]> {
    return this.sql.rows(
      `SELECT idx, status, item, steps, output, error FROM iterations
        WHERE execution_id = $1 AND step_id = $2 AND idx > $3 AND ($4::text IS NULL OR status = $4)
        ORDER BY idx LIMIT $5`,
      [executionId, loop, afterIdx, status ?? null, limit],
    );
  }
}

export function keyText(k: ItemKey): string {
  return `${k.executionId}/${k.loop}/${k.idx}`;
}
