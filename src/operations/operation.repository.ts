import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Sql } from 'src/database/sql.service';
import { ExecutionFilter, filterSql } from 'src/executions/execution-filter';
import { BulkAction } from 'src/operations/bulk-scope';

export type OperationStatus = 'running' | 'done' | 'cancelled';

/** An `operations` row (migrations/1764000002100-BulkOperations.ts). */
export interface OperationRow {
  id: string;
  action: BulkAction;
  filter: ExecutionFilter;
  status: OperationStatus;
  matched: number;
  done: number;
  failed: number;
  actor: string;
  created_at: Date;
  finished_at: Date | null;
}

/** An act on one execution that must not count: the operation was cancelled or another worker holds it. */
export class OperationLostError extends Error {
  constructor(operationId: string) {
    super(`operation ${operationId} is no longer this worker's to run`);
  }
}

const COLUMNS = `id, action, filter, status, matched, done, failed, actor, created_at, finished_at`;

/** Rows of any statement in the caller's transaction (TypeORM's query() answers UPDATE with [rows, count]). */
async function rowsOf<T>(m: EntityManager, text: string, values: unknown[]): Promise<T[]> {
  if (!m.queryRunner) throw new Error('operation writes run in a transaction');
  const result = await m.queryRunner.query(text, values, true);
  return (result as { records: T[] }).records;
}

/**
 * SQL for bulk operations. Work is fenced by the lease: every item mark checks that the operation
 * is still running and still leased by the caller, and extends the lease.
 */
@Injectable()
export class OperationRepository {
  constructor(private readonly sql: Sql) {}

  async count(filter: ExecutionFilter): Promise<number> {
    const { conditions, values } = filterSql(filter);
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const rows = await this.sql.rows<{ n: number }>(
      `SELECT count(*)::int AS n FROM executions e ${where}`,
      values,
    );
    return rows[0]?.n ?? 0;
  }

  /**
   * Writes the operation and the ids of the executions it matches now, in the caller's transaction.
   * That snapshot is the operation's cursor: each item is acted on once, whatever changes later.
   */
  async create(
    m: EntityManager,
    op: { id: string; action: BulkAction; filter: ExecutionFilter; actor: string },
    match: ExecutionFilter,
  ): Promise<OperationRow> {
    await m.query(
      `INSERT INTO operations (id, action, filter, status, actor) VALUES ($1, $2, $3::jsonb, 'running', $4)`,
      [op.id, op.action, JSON.stringify(op.filter), op.actor],
    );
    const { conditions, values } = filterSql(match, { firstParam: 2 });
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const rows = await rowsOf<OperationRow>(
      m,
      `WITH items AS (
         INSERT INTO operation_items (operation_id, execution_id)
         SELECT $1, e.id FROM executions e ${where}
         RETURNING 1)
       UPDATE operations SET matched = (SELECT count(*) FROM items) WHERE id = $1 RETURNING ${COLUMNS}`,
      [op.id, ...values],
    );
    return rows[0];
  }

  async find(id: string): Promise<OperationRow | null> {
    const rows = await this.sql.rows<OperationRow>(`SELECT ${COLUMNS} FROM operations WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** Leases the oldest running operation nobody holds (or whose holder stopped renewing). */
  async claim(owner: string, leaseMs: number): Promise<OperationRow | null> {
    const rows = await this.sql.rows<OperationRow>(
      `UPDATE operations SET lease_owner = $1, lease_until = now() + $2::int * interval '1 millisecond'
        WHERE id = (SELECT id FROM operations
                     WHERE status = 'running' AND (lease_until IS NULL OR lease_until < now())
                     ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING ${COLUMNS}`,
      [owner, leaseMs],
    );
    return rows[0] ?? null;
  }

  /** The next items still to act on, in a stable order. */
  async pending(id: string, limit: number): Promise<string[]> {
    const rows = await this.sql.rows<{ execution_id: string }>(
      `SELECT execution_id FROM operation_items WHERE operation_id = $1 AND state = 'pending'
        ORDER BY execution_id LIMIT $2`,
      [id, limit],
    );
    return rows.map((r) => r.execution_id);
  }

  /** Extends the lease; false when the operation was cancelled or another worker took it. */
  async renew(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const rows = await this.sql.rows(
      `UPDATE operations SET lease_until = now() + $3::int * interval '1 millisecond'
        WHERE id = $1 AND status = 'running' AND lease_owner = $2 RETURNING id`,
      [id, owner, leaseMs],
    );
    return rows.length > 0;
  }

  /**
   * Marks one item and counts it, in the caller's transaction (the act's own, for retry and cancel).
   * Throws OperationLostError when it must not count — the caller's transaction then rolls back, act
   * included. The operations row is updated last, so a concurrent cancel either waits for this act
   * (and counts it) or makes it roll back: the counts a cancel reports are final.
   */
  async mark(
    m: EntityManager,
    ref: { id: string; owner: string; leaseMs: number },
    executionId: string,
    outcome: { error?: string },
  ): Promise<void> {
    const failed = outcome.error !== undefined;
    const rows = await rowsOf(
      m,
      `WITH item AS (
         UPDATE operation_items SET state = $4, error = $5
          WHERE operation_id = $1 AND execution_id = $2 AND state = 'pending'
          RETURNING 1)
       UPDATE operations
          SET done = done + CASE WHEN $6::boolean THEN 0 ELSE 1 END, failed = failed + CASE WHEN $6::boolean THEN 1 ELSE 0 END,
              lease_until = now() + $7::int * interval '1 millisecond', updated_at = now()
        WHERE id = $1 AND status = 'running' AND lease_owner = $3 AND EXISTS (SELECT 1 FROM item)
        RETURNING id`,
      [
        ref.id,
        executionId,
        ref.owner,
        failed ? 'failed' : 'done',
        outcome.error ?? null,
        failed,
        ref.leaseMs,
      ],
    );
    if (rows.length === 0) throw new OperationLostError(ref.id);
  }

  /** Ends a running operation that has nothing pending; null when it was not (or no longer) ours. */
  async finish(m: EntityManager, id: string, owner: string): Promise<OperationRow | null> {
    const rows = await rowsOf<OperationRow>(
      m,
      `UPDATE operations SET status = 'done', finished_at = now(), updated_at = now(),
              lease_owner = NULL, lease_until = NULL
        WHERE id = $1 AND status = 'running' AND lease_owner = $2
          AND NOT EXISTS (SELECT 1 FROM operation_items WHERE operation_id = $1 AND state = 'pending')
        RETURNING ${COLUMNS}`,
      [id, owner],
    );
    return rows[0] ?? null;
  }

  /** Ends an operation that matched nothing, in the transaction that created it. */
  async finishEmpty(m: EntityManager, id: string): Promise<OperationRow> {
    const rows = await rowsOf<OperationRow>(
      m,
      `UPDATE operations SET status = 'done', finished_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
      [id],
    );
    return rows[0];
  }

  /** Cancels a running operation; null when it is not running (or does not exist). */
  async cancel(m: EntityManager, id: string): Promise<OperationRow | null> {
    const rows = await rowsOf<OperationRow>(
      m,
      `UPDATE operations SET status = 'cancelled', finished_at = now(), updated_at = now(),
              lease_owner = NULL, lease_until = NULL
        WHERE id = $1 AND status = 'running'
        RETURNING ${COLUMNS}`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** On shutdown: hand the operations this worker holds to the next one at once. */
  async release(owner: string): Promise<void> {
    await this.sql.rows(
      `UPDATE operations SET lease_until = NULL WHERE lease_owner = $1 AND status = 'running'`,
      [owner],
    );
  }

  async executionExists(id: string): Promise<boolean> {
    const rows = await this.sql.rows(`SELECT 1 FROM executions WHERE id = $1`, [id]);
    return rows.length > 0;
  }
}
