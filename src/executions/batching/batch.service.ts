import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { jsonb } from 'src/common/jsonb';
import { batchEvent, batchGroup, joinsBatch } from 'src/executions/batching/batch-group';
import { concurrencyGroup } from 'src/executions/concurrency/concurrency-key';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { CompiledFlow } from 'src/flows/flow-compiler';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { firstStepOf, stepJobId } from 'src/queue/queue.constants';
import { StepQueue } from 'src/queue/step-queue.service';
import { SecretsService } from 'src/secrets/secrets.service';

/** Rows of one statement, from a pg client or a TypeORM transaction (each UPDATE is a CTE read by a SELECT). */
export type Query = <T>(text: string, values: unknown[]) => Promise<T[]>;

/** Tries to find or create the open group when concurrent accepts keep creating and closing it. */
const JOIN_TRIES = 5;

/** A group that closed: what the launcher does next (enqueue its first job, ask for a slot, or count it). */
export interface ClosedBatch {
  executionId: string;
  status: 'queued' | 'failed';
  jobId: string | null;
  firstStep: string;
  concurrencyKey: string | null;
}

/** An event taken into a group, after the commit. */
export type Joined =
  | { executionId: string; duplicate: true }
  | {
      executionId: string;
      duplicate: false;
      /** A new group: its close by time is to be scheduled. */
      created: boolean;
      /** This event filled the group: it takes no more events and is to be closed now (close()). */
      full: boolean;
    };

export interface JoinInput {
  flow: CompiledFlow;
  event: FlowEvent;
  key: string;
  depth: number;
  /** The trigger's idempotency key (stored form): checked before the event joins. */
  idempotencyKey?: string;
}

/**
 * The flow version of a group and the secrets its `concurrency.key` needs: read before the close's
 * lock, as a query on another connection while the row is locked could wait for a pool connection
 * held by an event that waits for that lock.
 */
interface CloseContext {
  flow: CompiledFlow;
  secrets: Record<string, string>;
}

/**
 * Trigger `batch` (API.md §3). A group is an execution in status `batching` named by `batch_key`; at
 * most one per name takes events (a unique partial index over groups not yet full). An event joins by
 * bumping the group's count under its row lock and writing itself to `batch_members` in the same
 * statement, committed before its answer. The event that fills the group marks it due and closes it
 * right after; a group that is not full is closed by a delayed job `windowMs` after its first event.
 * The reconciler's sweep closes any group left due (that job lost with Redis, a crash before the close).
 * Closing is a `batching` → `queued` change of the locked row, so it happens once.
 */
@Injectable()
export class BatchService {
  private readonly logger = new Logger(BatchService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly flows: FlowCacheService,
    private readonly secrets: SecretsService,
    private readonly queue: StepQueue,
  ) {}

  private get pool(): Pool {
    return (this.db.driver as PostgresDriver).master as Pool;
  }

  /** Whether an event accepted for `flow` goes into a group rather than an execution of its own. */
  joins(flow: CompiledFlow, event: FlowEvent): boolean {
    return joinsBatch(flow.batch, event);
  }

  /** The group an event joins (its `batch.key`), or the failure that keeps it as a failed execution. */
  async group(flow: CompiledFlow, event: FlowEvent): ReturnType<typeof batchGroup> {
    const secrets = flow.batch?.key ? await this.secrets.values() : {};
    return batchGroup(flow, event, secrets);
  }

  /**
   * Takes one event into its group (trigger URLs, broker messages). Without an idempotency key each
   * statement of the join commits on its own: the group's row is locked only while its statement
   * runs, not for a round trip to this process, so a busy group takes events at the rate of one
   * statement. With a key, the key and the join commit together (a repeat rolls both back).
   */
  async accept(input: JoinInput): Promise<Joined> {
    if (input.idempotencyKey === undefined) {
      const joined = await this.join(poolQuery(this.pool), input);
      this.afterCommit(input.flow, joined);
      return joined;
    }
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const joined = await this.join(clientQuery(c), input);
      await c.query(joined.duplicate ? 'ROLLBACK' : 'COMMIT');
      if (!joined.duplicate) this.afterCommit(input.flow, joined);
      return joined;
    } catch (e) {
      await c.query('ROLLBACK').catch((err: unknown) => this.logger.warn({ err }, 'rollback failed'));
      throw e;
    } finally {
      c.release();
    }
  }

  /**
   * The same inside a caller's transaction (the event bus, whose events carry their own idempotency
   * key: none here, as a repeat could not be rolled back alone); afterCommit once it committed.
   */
  joinIn(m: EntityManager, input: JoinInput): Promise<Joined> {
    return this.join(managerQuery(m), input);
  }

  /** A new group's close by time: a delayed job (the reconciler closes it should the job be lost). */
  afterCommit(flow: CompiledFlow, joined: Joined): void {
    if (joined.duplicate || !joined.created || !flow.batch) return;
    this.queue
      .addCloseBatch(joined.executionId, flow.batch.windowMs)
      .catch((err: unknown) =>
        this.logger.warn(
          { err, executionId: joined.executionId },
          'close job not added; the reconciler will close the group',
        ),
      );
  }

  private async join(q: Query, input: JoinInput): Promise<Joined> {
    const { flow, event, key, depth } = input;
    const batch = flow.batch;
    if (!batch) throw new Error(`flow ${flow.id} has no batch settings`);
    const member = jsonb(event);
    for (let tries = 0; tries < JOIN_TRIES; tries++) {
      // The group taking events (row-locked: joins and the close take turns on it) and the member at its
      // place, in one statement. The event that fills it marks it due now: it leaves the open index
      // (the next event opens a new group) and is closed by close(), or by the reconciler after a crash.
      const [open] = await q<{ id: string; batch_count: number; batch_max: number }>(
        `WITH g AS (
           UPDATE executions SET batch_count = batch_count + 1, depth = GREATEST(depth, $2), updated_at = now(),
                  batch_closes_at = CASE WHEN batch_count + 1 >= batch_max THEN now() ELSE batch_closes_at END
            WHERE batch_key = $1 AND status = 'batching' AND batch_count < batch_max
            RETURNING id, batch_count, batch_max),
         m AS (INSERT INTO batch_members (execution_id, seq, event) SELECT id, batch_count, $3::jsonb FROM g)
         SELECT id, batch_count, batch_max FROM g`,
        [key, depth, member],
      );
      let executionId = open?.id;
      const full = open ? open.batch_count >= open.batch_max : false;
      if (!open) {
        const envelope: FlowEvent = {
          id: randomUUID(),
          type: 'batch',
          receivedAt: event.receivedAt,
          body: [],
          events: [],
        };
        const [created] = await q<{ id: string }>(
          `WITH e AS (
             INSERT INTO executions (id, flow_id, flow_version, status, event, depth, job_id, created_at, updated_at,
                                     batch_key, batch_count, batch_max, batch_closes_at)
             VALUES ($1, $2, $3, 'batching', $4::jsonb, $5, NULL, now(), now(), $6, 1, $9,
                     now() + ($7::int * interval '1 millisecond'))
             ON CONFLICT (batch_key) WHERE status = 'batching' AND batch_count < batch_max DO NOTHING
             RETURNING id),
           m AS (INSERT INTO batch_members (execution_id, seq, event) SELECT id, 1, $8::jsonb FROM e)
           SELECT id FROM e`,
          [
            randomUUID(),
            flow.id,
            flow.version,
            jsonb(envelope),
            depth,
            key,
            batch.windowMs,
            member,
            batch.maxItems,
          ],
        );
        // Another process opened this group meanwhile (we waited for its commit): join that one.
        if (!created) continue;
        executionId = created.id;
      }
      const id = executionId;
      if (input.idempotencyKey !== undefined) {
        const storedKey = input.idempotencyKey.replaceAll('\u0000', '\ufffd');
        const [fresh] = await q<{ execution_id: string }>(
          `INSERT INTO idempotency_keys (flow_id, key, execution_id) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING execution_id`,
          [flow.id, storedKey, id],
        );
        if (!fresh) {
          // A repeat: nothing of this transaction is kept (the caller rolls it back).
          const [first] = await q<{ execution_id: string }>(
            `SELECT execution_id FROM idempotency_keys WHERE flow_id = $1 AND key = $2`,
            [flow.id, storedKey],
          );
          if (!first) throw new Error('idempotency key vanished between insert and read');
          return { executionId: first.execution_id, duplicate: true };
        }
      }
      return { executionId: id, duplicate: false, created: !open, full };
    }
    throw new Error(`could not join batch group ${key} after ${JOIN_TRIES} tries`);
  }

  /** Closes a group: full, or due by time (its job, the reconciler); null when it had closed already. */
  async close(executionId: string): Promise<ClosedBatch | null> {
    const [open] = (
      await this.pool.query<{ flow_id: string; flow_version: number }>(
        `SELECT flow_id, flow_version FROM executions WHERE id = $1 AND status = 'batching'`,
        [executionId],
      )
    ).rows;
    if (!open) return null;
    const flow = await this.flows.get(open.flow_id, open.flow_version);
    const context = { flow, secrets: flow.concurrency?.key ? await this.secrets.values() : {} };
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const closed = await this.closeLocked(clientQuery(c), executionId, context);
      await c.query('COMMIT');
      return closed;
    } catch (e) {
      await c.query('ROLLBACK').catch((err: unknown) => this.logger.warn({ err }, 'rollback failed'));
      throw e;
    } finally {
      c.release();
    }
  }

  /**
   * The close itself, in the caller's transaction: locks the row while it is `batching` (else null:
   * closed or cancelled already), folds the members into its event and makes it `queued` with its
   * first job — or, for a flow with `concurrency`, puts it in line (a key that fails fails it).
   */
  private async closeLocked(
    q: Query,
    executionId: string,
    context: CloseContext,
  ): Promise<ClosedBatch | null> {
    const [row] = await q<{ flow_id: string; flow_version: number; event: FlowEvent }>(
      `SELECT flow_id, flow_version, event FROM executions WHERE id = $1 AND status = 'batching' FOR UPDATE`,
      [executionId],
    );
    if (!row) return null;
    // A group's flow version never changes (it is part of batch_key): the context read before is its own.
    const { flow, secrets } = context;
    if (flow.id !== row.flow_id || flow.version !== row.flow_version)
      throw new Error(
        `batch ${executionId} is of flow ${row.flow_id} v${row.flow_version}, not v${flow.version}`,
      );
    const event = await this.fold(q, executionId, row.event);
    const firstStep = firstStepOf(flow);
    let status: ClosedBatch['status'] = 'queued';
    let error: string | null = null;
    let concurrencyKey: string | null = null;
    if (flow.concurrency) {
      const group = await concurrencyGroup(flow, event, executionId, secrets);
      if (group.failure !== undefined) {
        status = 'failed';
        error = group.failure;
      } else concurrencyKey = group.key;
    }
    const jobId = status === 'queued' && !concurrencyKey ? stepJobId(executionId, firstStep, 1) : null;
    await q(
      `WITH u AS (
         UPDATE executions
            SET status = $2, event = $3::jsonb, job_id = $4, run_at = now(), error = $5, concurrency_key = $6,
                concurrency_seq = CASE WHEN $6::text IS NOT NULL THEN nextval('executions_concurrency_seq') END,
                finished_at = CASE WHEN $2 = 'failed' THEN now() END, batch_closes_at = NULL, updated_at = now()
          WHERE id = $1
          RETURNING id)
       SELECT id FROM u`,
      [executionId, status, jsonb(event), jobId, error, concurrencyKey],
    );
    return { executionId, status, jobId, firstStep, concurrencyKey };
  }

  /** The group's event from its members (deleted: from now on they live in the event), in arrival order. */
  private async fold(q: Query, executionId: string, envelope: FlowEvent): Promise<FlowEvent> {
    const members = await q<{ event: FlowEvent }>(
      `WITH d AS (DELETE FROM batch_members WHERE execution_id = $1 RETURNING seq, event)
       SELECT event FROM d ORDER BY seq`,
      [executionId],
    );
    return batchEvent(
      envelope,
      members.map((m) => m.event),
    );
  }

  /**
   * A cancel of a `batching` execution (in the cancel's transaction, row locked): the members so far
   * become its event, so the record (and a replay) shows what it had gathered.
   */
  async foldForCancel(m: EntityManager, executionId: string, envelope: FlowEvent): Promise<void> {
    const q = managerQuery(m);
    const event = await this.fold(q, executionId, envelope);
    await q(
      `WITH u AS (UPDATE executions SET event = $2::jsonb WHERE id = $1 RETURNING id) SELECT id FROM u`,
      [executionId, jsonb(event)],
    );
  }

  /**
   * The event of a group read while `batching` (GET /executions/{id}, a replay): the members so far.
   * One statement, so a close that committed since the row was read gives its folded event instead.
   */
  async eventSoFar(executionId: string): Promise<FlowEvent | null> {
    const r = await this.pool.query<{ event: FlowEvent; members: FlowEvent[] | null }>(
      `SELECT e.event,
              (SELECT jsonb_agg(m.event ORDER BY m.seq) FROM batch_members m WHERE m.execution_id = e.id) AS members
         FROM executions e WHERE e.id = $1`,
      [executionId],
    );
    const row = r.rows[0];
    if (!row) return null;
    return row.members ? batchEvent(row.event, row.members) : row.event;
  }

  /** Open groups whose time ran out `graceMs` ago: their close job was lost (Redis wiped) or failed. */
  async overdue(graceMs: number, limit: number): Promise<string[]> {
    const r = await this.pool.query<{ id: string }>(
      `SELECT id FROM executions
        WHERE status = 'batching' AND batch_closes_at < now() - ($1::int * interval '1 millisecond')
        ORDER BY batch_closes_at LIMIT $2`,
      [graceMs, limit],
    );
    return r.rows.map((row) => row.id);
  }
}

function poolQuery(pool: Pool): Query {
  return async <T>(text: string, values: unknown[]) => (await pool.query(text, values)).rows as T[];
}

function clientQuery(c: PoolClient): Query {
  return async <T>(text: string, values: unknown[]) => (await c.query(text, values)).rows as T[];
}

/** TypeORM answers a SELECT (and an INSERT … RETURNING) with its rows: every statement here is one of those. */
function managerQuery(m: EntityManager): Query {
  return <T>(text: string, values: unknown[]) => m.query<T[]>(text, values);
}
