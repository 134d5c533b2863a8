import { Injectable } from '@nestjs/common';
import { Sql } from 'src/database/sql.service';
import { StepRecord } from 'src/executions/execution.entity';

/**
 * A row of the `execution_failures` outbox with what is left of its execution: the execution's
 * fields are null when it was pruned before its failure went out.
 */
export interface ExecutionFailure {
  id: string;
  executionId: string;
  at: Date;
  flowId: string | null;
  flowVersion: number | null;
  flowName: string | null;
  error: string | null;
  steps: Record<string, StepRecord> | null;
  depth: number | null;
}

interface FailureRow {
  id: string;
  execution_id: string;
  at: Date;
  flow_id: string | null;
  flow_version: number | null;
  flow_name: string | null;
  error: string | null;
  steps: Record<string, StepRecord> | null;
  depth: number | null;
}

/**
 * The `execution_failures` outbox, which a trigger fills in the transaction that makes an execution
 * `failed` (migrations/1764000002100-BulkOperations.ts); ExecutionFailedPublisher drains it.
 */
@Injectable()
export class ExecutionFailureRepository {
  constructor(private readonly sql: Sql) {}

  /** The oldest `limit` failures not yet published, with their execution and flow name. */
  async oldest(limit: number): Promise<ExecutionFailure[]> {
    const rows = await this.sql.rows<FailureRow>(
      `SELECT f.id, f.execution_id, f.at, e.flow_id, e.flow_version, fl.name AS flow_name, e.error, e.steps, e.depth
         FROM execution_failures f
         LEFT JOIN executions e ON e.id = f.execution_id
         LEFT JOIN flows fl ON fl.id = e.flow_id
        ORDER BY f.id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({
      id: r.id,
      executionId: r.execution_id,
      at: r.at,
      flowId: r.flow_id,
      flowVersion: r.flow_version,
      flowName: r.flow_name,
      error: r.error,
      steps: r.steps,
      depth: r.depth,
    }));
  }

  /** A failure that went out (or has nothing left to tell). */
  async remove(id: string): Promise<void> {
    await this.sql.rows(`DELETE FROM execution_failures WHERE id = $1`, [id]);
  }
}
