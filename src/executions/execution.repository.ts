import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Batcher } from 'src/common/batcher';
import { jsonb } from 'src/common/jsonb';
import { Sql } from 'src/database/sql.service';
import { ExecutionStatus, StepRecord } from 'src/executions/execution.entity';
import { FlowEvent } from 'src/flows/definitions/flow-event';

/** A new execution as the accept path writes it. */
export interface NewExecution {
  id: string;
  flowId: string;
  flowVersion: number;
  /** `failed` when the event could not even be routed (its filter or idempotency key failed). */
  status: 'queued' | 'filtered' | 'failed';
  error?: string | null;
  event: FlowEvent;
  depth: number;
  jobId: string | null;
  createdAt: Date;
  /** Write the row only if this trigger token still leads to this flow version (see executionInsert). */
  triggerToken?: string;
  /** Flow-level `concurrency`: written `queued` with no job; ConcurrencyRepository.claim gives it one. */
  concurrencyKey?: string;
}

/** What the runner reads back: everything but the timestamps it does not need. */
export interface ExecutionState {
  id: string;
  flowId: string;
  flowVersion: number;
  status: ExecutionStatus;
  event: FlowEvent;
  steps: Record<string, StepRecord>;
  depth: number;
  jobId: string | null;
  startedAt: Date | null;
  /** `secrets_version.version` as this load saw it: the runner's secrets are at least this new. */
  secretsVersion: number;
  concurrencyKey: string | null;
}

export interface ExecutionProgress {
  status: ExecutionStatus;
  steps: Record<string, StepRecord>;
  error?: string | null;
  jobId: string | null;
  runAt: Date | null;
  finished: boolean;
}

const ACTIVE = `('queued', 'running', 'waiting')`;
/** Rows per INSERT of insertIn (a caller's transaction can start many runs at once). */
const MAX_ROWS_PER_INSERT = 200;

/** The INSERT of new executions from a recordset `v` (of recordsetRow's fields), shared by both inserts. */
const INSERT_FROM_V = `INSERT INTO executions (id, flow_id, flow_version, status, event, depth, job_id, created_at, finished_at, updated_at, error, concurrency_key, concurrency_seq)
           SELECT v.id, v.flow_id, v.flow_version, v.status, v.event, v.depth, v.job_id, v.created_at, v.finished_at, v.created_at, v.error, v.concurrency_key,
                  CASE WHEN v.concurrency_key IS NOT NULL THEN nextval('executions_concurrency_seq') END`;

/** A new execution as a row of the inserts' jsonb_to_recordset. */
function recordsetRow(r: NewExecution): Record<string, unknown> {
  return {
    id: r.id,
    flow_id: r.flowId,
    flow_version: r.flowVersion,
    status: r.status,
    event: r.event,
    depth: r.depth,
    job_id: r.jobId,
    created_at: r.createdAt,
    finished_at: r.status === 'queued' ? null : r.createdAt,
    error: r.error ?? null,
    // Left out (NULL) for a flow without `concurrency`: nothing more to send or parse.
    concurrency_key: r.concurrencyKey,
  };
}

/**
 * One INSERT for many new executions (batched inserts, and insertIn in a caller's transaction). The
 * rows travel as one JSON document read by jsonb_to_recordset: one parameter and one parse, where
 * one array per column made the driver escape every event a second time (the profile's largest
 * allocation on the accept path). A row that carries `triggerToken` is only written while that
 * token still belongs to the enabled flow at that version — the accept path's cached token lookup is
 * checked here, in the same statement, instead of by a query of its own. RETURNING names the rows
 * written.
 */
export function executionInsert(rows: NewExecution[]): { text: string; values: unknown[] } {
  return {
    text: `${INSERT_FROM_V}
             FROM jsonb_to_recordset($1::jsonb)
                  AS v(id uuid, flow_id uuid, flow_version int, status text, event jsonb, depth int, job_id text,
                       created_at timestamptz, finished_at timestamptz, error text, token text, concurrency_key text)
            WHERE v.token IS NULL
               OR EXISTS (SELECT 1 FROM flows f
                           WHERE f.id = v.flow_id AND f.version = v.flow_version AND f.token = v.token
                             AND f.enabled AND f.deleted_at IS NULL)
           RETURNING id`,
    values: [jsonb(rows.map((r) => ({ ...recordsetRow(r), token: r.triggerToken ?? null })))],
  };
}

/** A new execution with its idempotency key (already storable: see storableKey). */
export interface KeyedRow {
  row: NewExecution;
  key: string;
}

/** The key as PostgreSQL's text stores it: NUL and lone surrogates become U+FFFD (as jsonb() does). */
export function storableKey(raw: string): string {
  return raw
    .replaceAll('\u0000', '\ufffd')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** One (flow, key): NUL cannot occur in a stored key (storableKey), so it separates the two. */
function keyId(item: KeyedRow): string {
  return `${item.row.flowId}\u0000${item.key}`;
}

/**
 * The members of a keyed batch that are written: the first of each (flow, key) — the others are
 * answered with its result, as a request that waited for it would be — sorted by (flow, key), so
 * that two batches (other processes) take their keys in one order and cannot deadlock on each other.
 * `leaderOf[i]` is the index in `leaders` that answers item i.
 */
export function keyedLeaders(items: KeyedRow[]): { leaders: KeyedRow[]; leaderOf: number[] } {
  const firstOf = new Map<string, KeyedRow>();
  for (const item of items) if (!firstOf.has(keyId(item))) firstOf.set(keyId(item), item);
  const ids = [...firstOf.keys()].sort();
  const index = new Map(ids.map((id, i) => [id, i]));
  return {
    leaders: ids.map((id) => firstOf.get(id) as KeyedRow),
    leaderOf: items.map((item) => index.get(keyId(item)) as number),
  };
}

/**
 * The keyed batch's one statement: each key is inserted (ON CONFLICT DO NOTHING, in `ord` order) and
 * the execution only where its key was — the same row, `finished_at`, `error` and concurrency
 * sequence as executionInsert writes. A row's `triggerToken` is not checked here (as before: a
 * keyed event's execution is written whatever became of its token meanwhile). RETURNING names the
 * executions written; the rest found their key taken.
 */
export function keyedInsert(leaders: KeyedRow[]): { text: string; values: unknown[] } {
  return {
    text: `WITH v AS MATERIALIZED (
             SELECT * FROM jsonb_to_recordset($1::jsonb)
               AS v(ord int, id uuid, flow_id uuid, flow_version int, status text, event jsonb, depth int, job_id text,
                    created_at timestamptz, finished_at timestamptz, error text, key text, concurrency_key text)),
           k AS (
             INSERT INTO idempotency_keys (flow_id, key, execution_id)
             SELECT v.flow_id, v.key, v.id FROM v ORDER BY v.ord
             ON CONFLICT DO NOTHING RETURNING execution_id),
           e AS (
             ${INSERT_FROM_V}
               FROM v JOIN k ON k.execution_id = v.id
              ORDER BY v.ord
             RETURNING id)
         SELECT id FROM e`,
    values: [
      jsonb(
        leaders.map(({ row: r, key }, ord) => ({
          ord,
          ...recordsetRow(r),
          key,
          concurrency_key: r.concurrencyKey ?? null,
        })),
      ),
    ],
  };
}

interface ProgressWrite {
  id: string;
  fence: string;
  p: ExecutionProgress;
}

/**
 * Hot-path SQL for executions. Inserts, loads and progress writes from concurrent requests and jobs
 * are grouped (src/common/batcher.ts) into one statement — one round trip and one commit (one WAL
 * flush) for many — while an idle call still runs at once. Each caller gets its answer only after
 * its own row committed.
 */
@Injectable()
export class ExecutionRepository {
  private readonly inserts = new Batcher<NewExecution, boolean>((rows) => this.insertBatch(rows));
  private readonly loads = new Batcher<string, ExecutionState | null>((ids) => this.loadBatch(ids));
  private readonly writes = new Batcher<ProgressWrite, boolean>((w) => this.saveBatch(w));
  private readonly keyed = new Batcher<KeyedRow, string>((items) => this.keyedBatch(items));

  constructor(private readonly sql: Sql) {}

  /** False when the row's `triggerToken` no longer leads to its flow version: nothing was written. */
  insert(row: NewExecution): Promise<boolean> {
    return this.inserts.submit(row);
  }

  load(id: string): Promise<ExecutionState | null> {
    return this.loads.submit(id);
  }

  /**
   * Writes the runner's progress, fenced by the job that did the work: when the execution was
   * cancelled or handed to another job meanwhile, nothing is written and false comes back.
   */
  saveProgress(id: string, fenceJobId: string, p: ExecutionProgress): Promise<boolean> {
    return this.writes.submit({ id, fence: fenceJobId, p });
  }

  /** New executions in the caller's transaction (RunStarter), at most MAX_ROWS_PER_INSERT per statement. */
  async insertIn(m: EntityManager, rows: NewExecution[]): Promise<void> {
    for (let i = 0; i < rows.length; i += MAX_ROWS_PER_INSERT) {
      const { text, values } = executionInsert(rows.slice(i, i + MAX_ROWS_PER_INSERT));
      await m.query(text, values);
    }
  }

  private async insertBatch(rows: NewExecution[]): Promise<boolean[]> {
    const { text, values } = executionInsert(rows);
    const written = new Set((await this.sql.rows<{ id: string }>(text, values)).map((r) => r.id));
    return rows.map((r) => written.has(r.id));
  }

  /**
   * Inserts the idempotency key and the execution together; when the key exists (possibly committed
   * by a concurrent request we waited for) nothing is written and the first execution's id comes
   * back instead. Concurrent calls share one statement (keyedBatch), answered after its commit.
   */
  insertOnce(row: NewExecution, rawKey: string): Promise<string> {
    return this.keyed.submit({ row, key: storableKey(rawKey) });
  }

  /**
   * One statement writes the keys and the executions of a batch: a key already taken writes neither,
   * and its member is answered from a second query (only then) with the execution that holds it —
   * read after our statement, so a key a concurrent transaction committed while we waited is seen.
   * Two members with one key are one write (keyedLeaders). A statement that fails is retried member
   * by member by the Batcher (settleEach); a retried member whose row did commit finds its own key.
   */
  private async keyedBatch(items: KeyedRow[]): Promise<string[]> {
    const { leaders, leaderOf } = keyedLeaders(items);
    const { text, values } = keyedInsert(leaders);
    const written = new Set((await this.sql.rows<{ id: string }>(text, values)).map((r) => r.id));
    const taken = leaders.filter((l) => !written.has(l.row.id));
    const holder = new Map<string, string>();
    if (taken.length > 0) {
      const found: Array<{ flow_id: string; key: string; execution_id: string }> = await this.sql.rows(
        `SELECT i.flow_id, i.key, i.execution_id
           FROM idempotency_keys i
           JOIN unnest($1::uuid[], $2::text[]) AS u(flow_id, key) ON i.flow_id = u.flow_id AND i.key = u.key`,
        [taken.map((l) => l.row.flowId), taken.map((l) => l.key)],
      );
      for (const f of found) holder.set(`${f.flow_id}\u0000${f.key}`, f.execution_id);
    }
    const answers = leaders.map((l) => {
      if (written.has(l.row.id)) return l.row.id;
      const first = holder.get(keyId(l));
      if (!first) throw new Error('idempotency key vanished between insert and read');
      return first;
    });
    return leaderOf.map((i) => answers[i]);
  }

  private async loadBatch(ids: string[]): Promise<Array<ExecutionState | null>> {
    const rows: Array<Record<string, unknown>> = await this.sql.rows(
      // The secrets' version rides along (evaluated once per statement): a secret written before this
      // load is what the step uses, with no query of its own (SecretsService.values).
      `SELECT id, flow_id, flow_version, status, event, steps, depth, job_id, started_at, concurrency_key,
              (SELECT version FROM secrets_version) AS secrets_version
         FROM executions WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    const byId = new Map<string, ExecutionState>();
    for (const r of rows) {
      byId.set(r.id as string, {
        id: r.id as string,
        flowId: r.flow_id as string,
        flowVersion: r.flow_version as number,
        status: r.status as ExecutionStatus,
        event: r.event as FlowEvent,
        steps: r.steps as Record<string, StepRecord>,
        depth: r.depth as number,
        jobId: r.job_id as string | null,
        startedAt: r.started_at as Date | null,
        secretsVersion: r.secrets_version as number,
        concurrencyKey: r.concurrency_key as string | null,
      });
    }
    return ids.map((id) => byId.get(id) ?? null);
  }

  private async saveBatch(batch: ProgressWrite[]): Promise<boolean[]> {
    // Rows in one order across concurrent batches, so two batches can never deadlock on each other.
    const writes = [...batch].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // One JSON document for the batch, as in executionInsert (jsonb() also turns NUL into U+FFFD).
    const rows: Array<{ id: string }> = await this.sql.rows(
      `UPDATE executions e
          SET status = v.status, steps = v.steps, error = v.error, job_id = v.job_id, run_at = v.run_at,
              started_at = COALESCE(e.started_at, now()),
              finished_at = CASE WHEN v.finished THEN now() ELSE NULL END,
              updated_at = now()
         FROM jsonb_to_recordset($1::jsonb)
              AS v(id uuid, fence text, status text, steps jsonb, error text, job_id text, run_at timestamptz, finished boolean)
        WHERE e.id = v.id AND e.job_id = v.fence AND e.status IN ${ACTIVE}
        RETURNING e.id`,
      [
        jsonb(
          writes.map((w) => ({
            id: w.id,
            fence: w.fence,
            status: w.p.status,
            steps: w.p.steps,
            error: w.p.error ?? null,
            job_id: w.p.jobId,
            run_at: w.p.runAt,
            finished: w.p.finished,
          })),
        ),
      ],
    );
    const saved = new Set(rows.map((r) => r.id));
    return batch.map((w) => saved.has(w.id));
  }

  /** Active executions untouched for a while: the reconciler checks that their job exists. */
  async stale(
    olderThanMs: number,
    limit: number,
  ): Promise<
    Array<{ id: string; jobId: string | null; runAt: Date | null; steps: Record<string, StepRecord> }>
  > {
    const rows: Array<{
      id: string;
      job_id: string | null;
      run_at: Date | null;
      steps: Record<string, StepRecord>;
    }> = await this.sql.rows(
      // Without a job there is nothing to re-add (an execution waiting in line for a concurrency slot,
      // a running forEach): such rows are left out rather than touched on every pass.
      `SELECT id, job_id, run_at, steps FROM executions
        WHERE status IN ${ACTIVE} AND job_id IS NOT NULL AND updated_at < now() - ($1::int * interval '1 millisecond')
        ORDER BY updated_at LIMIT $2`,
      [olderThanMs, limit],
    );
    return rows.map((r) => ({ id: r.id, jobId: r.job_id, runAt: r.run_at, steps: r.steps }));
  }

  /** The job each of these executions still waits for (active ones only): a second look before a re-add. */
  async currentJobIds(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows: Array<{ id: string; job_id: string }> = await this.sql.rows(
      `SELECT id, job_id FROM executions WHERE id = ANY($1::uuid[]) AND status IN ${ACTIVE} AND job_id IS NOT NULL`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.job_id]));
  }

  /** Marks an execution as looked at, so the reconciler moves on to others. */
  async touch(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.sql.rows(
      `UPDATE executions SET updated_at = now() WHERE id = ANY($1::uuid[]) AND status IN ${ACTIVE}`,
      [ids],
    );
  }

  /**
   * A failed execution goes again (ExecutionService.retry), in the caller's transaction: `queued`
   * with its steps as reset, its error cleared and its next job, or no job (back in line for a slot).
   */
  async requeueForRetry(
    m: EntityManager,
    id: string,
    steps: Record<string, StepRecord>,
    jobId: string | null,
  ): Promise<void> {
    await m.query(
      `UPDATE executions SET status = 'queued', steps = $2::jsonb, error = NULL, job_id = $3, run_at = now(),
              finished_at = NULL, updated_at = now() WHERE id = $1`,
      [id, jsonb(steps), jobId],
    );
  }

  /** A cancelled execution (ExecutionService.cancel), in the caller's transaction: final, no job. */
  async markCancelled(m: EntityManager, id: string, steps: Record<string, StepRecord>): Promise<void> {
    await m.query(
      `UPDATE executions SET status = 'cancelled', steps = $2::jsonb, job_id = NULL, run_at = NULL,
              finished_at = now(), updated_at = now() WHERE id = $1`,
      [id, jsonb(steps)],
    );
  }
}
