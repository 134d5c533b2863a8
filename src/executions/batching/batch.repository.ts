import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { jsonb } from 'src/common/jsonb';
import { FlowEvent } from 'src/flows/definitions/flow-event';

/** Rows of one statement, from a pg client or a TypeORM transaction (each UPDATE is a CTE read by a SELECT). */
export type Query = <T>(text: string, values: unknown[]) => Promise<T[]>;

/** The group taking events after an event joined it: its count now, and its size. */
export interface OpenGroup {
  id: string;
  count: number;
  max: number;
}

/** A new group, opened with its first event (the member at seq 1). */
export interface NewGroup {
  id: string;
  flowId: string;
  flowVersion: number;
  /** The group's event until it closes: a `batch` envelope with no events yet. */
  envelope: FlowEvent;
  depth: number;
  key: string;
  windowMs: number;
  maxItems: number;
}

/** A closed group's row: `queued` (with its first job, or in line by `concurrencyKey`) or `failed`. */
export interface ClosedGroupRow {
  executionId: string;
  status: 'queued' | 'failed';
  event: FlowEvent;
  jobId: string | null;
  error: string | null;
  concurrencyKey: string | null;
}

/**
 * The SQL of trigger `batch` (BatchService has the rules): groups are executions in status `batching`
 * named by `batch_key`, their events wait in `batch_members`. Statements that belong to a transaction
 * take its Query: autocommit (each statement on its own), transaction() or inManager(m) for a caller's.
 */
@Injectable()
export class BatchRepository {
  private readonly logger = new Logger(BatchRepository.name);

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  private get pool(): Pool {
    return (this.db.driver as PostgresDriver).master as Pool;
  }

  /** Each statement commits on its own. */
  get autocommit(): Query {
    return async <T>(text: string, values: unknown[]) => (await this.pool.query(text, values)).rows as T[];
  }

  /** The statements of a caller's TypeORM transaction. */
  inManager(m: EntityManager): Query {
    // TypeORM answers a SELECT (and an INSERT … RETURNING) with its rows: every statement here is one of those.
    return <T>(text: string, values: unknown[]) => m.query<T[]>(text, values);
  }

  /**
   * Runs `work` in a transaction of its own on one pool connection: committed when `keep` says so,
   * else rolled back (also on an error, which is thrown again).
   */
  async transaction<T>(
    work: (q: Query) => Promise<T>,
    keep: (result: T) => boolean = () => true,
  ): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const result = await work(clientQuery(c));
      await c.query(keep(result) ? 'COMMIT' : 'ROLLBACK');
      return result;
    } catch (e) {
      await c.query('ROLLBACK').catch((err: unknown) => this.logger.warn({ err }, 'rollback failed'));
      throw e;
    } finally {
      c.release();
    }
  }

  /**
   * The group taking events for `key` (row-locked: joins and the close take turns on it) counts one
   * more and `member` (jsonb text) is written at its place, in one statement. The event that fills it
   * marks it due now: it leaves the open index. Undefined when no group takes events.
   */
  async joinOpen(q: Query, key: string, depth: number, member: string): Promise<OpenGroup | undefined> {
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
    return open && { id: open.id, count: open.batch_count, max: open.batch_max };
  }

  /**
   * Opens a group with `member` (jsonb text) as its first event; undefined when another process
   * opened one for this key meanwhile (we waited for its commit).
   */
  async openGroup(q: Query, g: NewGroup, member: string): Promise<string | undefined> {
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
      [g.id, g.flowId, g.flowVersion, jsonb(g.envelope), g.depth, g.key, g.windowMs, member, g.maxItems],
    );
    return created?.id;
  }

  /** Writes the idempotency key (stored form) for the group; false when the key was taken. */
  async insertKey(q: Query, flowId: string, storedKey: string, executionId: string): Promise<boolean> {
    const [fresh] = await q<{ execution_id: string }>(
      `INSERT INTO idempotency_keys (flow_id, key, execution_id) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING execution_id`,
      [flowId, storedKey, executionId],
    );
    return fresh !== undefined;
  }

  /** The execution that holds an idempotency key (stored form), if any. */
  async keyHolder(q: Query, flowId: string, storedKey: string): Promise<string | undefined> {
    const [first] = await q<{ execution_id: string }>(
      `SELECT execution_id FROM idempotency_keys WHERE flow_id = $1 AND key = $2`,
      [flowId, storedKey],
    );
    return first?.execution_id;
  }

  /** The flow version of a group still `batching` (no lock), or undefined. */
  async openVersion(executionId: string): Promise<{ flowId: string; flowVersion: number } | undefined> {
    const [open] = (
      await this.pool.query<{ flow_id: string; flow_version: number }>(
        `SELECT flow_id, flow_version FROM executions WHERE id = $1 AND status = 'batching'`,
        [executionId],
      )
    ).rows;
    return open && { flowId: open.flow_id, flowVersion: open.flow_version };
  }

  /** Locks a group's row while it is `batching` (FOR UPDATE, in q's transaction); undefined otherwise. */
  async lockOpen(
    q: Query,
    executionId: string,
  ): Promise<{ flowId: string; flowVersion: number; event: FlowEvent } | undefined> {
    const [row] = await q<{ flow_id: string; flow_version: number; event: FlowEvent }>(
      `SELECT flow_id, flow_version, event FROM executions WHERE id = $1 AND status = 'batching' FOR UPDATE`,
      [executionId],
    );
    return row && { flowId: row.flow_id, flowVersion: row.flow_version, event: row.event };
  }

  /** A group's members, deleted (from now on they live in its event), in arrival order. */
  async takeMembers(q: Query, executionId: string): Promise<FlowEvent[]> {
    const members = await q<{ event: FlowEvent }>(
      `WITH d AS (DELETE FROM batch_members WHERE execution_id = $1 RETURNING seq, event)
       SELECT event FROM d ORDER BY seq`,
      [executionId],
    );
    return members.map((m) => m.event);
  }

  /** The close's write: the folded event, the status, its job or place in line (a new sequence). */
  async markClosed(q: Query, c: ClosedGroupRow): Promise<void> {
    await q(
      `WITH u AS (
         UPDATE executions
            SET status = $2, event = $3::jsonb, job_id = $4, run_at = now(), error = $5, concurrency_key = $6,
                concurrency_seq = CASE WHEN $6::text IS NOT NULL THEN nextval('executions_concurrency_seq') END,
                finished_at = CASE WHEN $2 = 'failed' THEN now() END, batch_closes_at = NULL, updated_at = now()
          WHERE id = $1
          RETURNING id)
       SELECT id FROM u`,
      [c.executionId, c.status, jsonb(c.event), c.jobId, c.error, c.concurrencyKey],
    );
  }

  /** A cancelled group's event: the members it had gathered (in the cancel's transaction). */
  async setEvent(q: Query, executionId: string, event: FlowEvent): Promise<void> {
    await q(
      `WITH u AS (UPDATE executions SET event = $2::jsonb WHERE id = $1 RETURNING id) SELECT id FROM u`,
      [executionId, jsonb(event)],
    );
  }

  /** A group's event and its members so far (in arrival order, null when none), in one statement. */
  async eventAndMembers(
    executionId: string,
  ): Promise<{ event: FlowEvent; members: FlowEvent[] | null } | undefined> {
    const r = await this.pool.query<{ event: FlowEvent; members: FlowEvent[] | null }>(
      `SELECT e.event,
              (SELECT jsonb_agg(m.event ORDER BY m.seq) FROM batch_members m WHERE m.execution_id = e.id) AS members
         FROM executions e WHERE e.id = $1`,
      [executionId],
    );
    return r.rows[0];
  }

  /** Open groups whose time ran out `graceMs` ago, oldest first. */
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

function clientQuery(c: PoolClient): Query {
  return async <T>(text: string, values: unknown[]) => (await c.query(text, values)).rows as T[];
}
