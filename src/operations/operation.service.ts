import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { rangeProblem } from 'src/executions/execution-filter';
import { actionScope, storedFilter } from 'src/operations/bulk-scope';
import { BulkOperationDto } from 'src/operations/dto/bulk-operation.dto';
import { OperationRepository, OperationRow } from 'src/operations/operation.repository';

/** `GET /operations/{id}` (API.md §12). */
export interface OperationView {
  id: string;
  action: string;
  filter: unknown;
  status: string;
  matched: number;
  done: number;
  failed: number;
  createdAt: string;
  finishedAt?: string;
}

export function operationView(op: OperationRow): OperationView {
  return {
    id: op.id,
    action: op.action,
    filter: op.filter,
    status: op.status,
    matched: op.matched,
    done: op.done,
    failed: op.failed,
    createdAt: op.created_at.toISOString(),
    ...(op.finished_at ? { finishedAt: op.finished_at.toISOString() } : {}),
  };
}

/**
 * Bulk retry, replay and cancel (the API side): counts a filter, or writes the operation with its
 * snapshot of matched executions; a worker (OperationRunner) does the work in the background.
 */
@Injectable()
export class OperationService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly operations: OperationRepository,
    private readonly audit: AuditService,
  ) {}

  async start(
    dto: BulkOperationDto,
    actor: string,
  ): Promise<{ matched: number } | { operationId: string; matched: number }> {
    const range = rangeProblem(dto.filter);
    if (range) throw new BadRequestException([`filter.${range}`]);
    const filter = storedFilter({ ...dto.filter });
    const match = actionScope(dto.action, filter);
    if (dto.dryRun) return { matched: await this.operations.count(match) };
    const id = randomUUID();
    const op = await this.db.transaction(async (m) => {
      const created = await this.operations.create(m, { id, action: dto.action, filter, actor }, match);
      if (created.matched > 0) return created;
      // Nothing to do: the operation is over as it starts, and is audited as such.
      const done = await this.operations.finishEmpty(m, id);
      await this.recordFinished(m, done);
      return done;
    });
    return { operationId: op.id, matched: op.matched };
  }

  async get(id: string): Promise<OperationView> {
    const op = await this.operations.find(id);
    if (!op) throw new NotFoundException(`operation ${id} not found`);
    return operationView(op);
  }

  /** Stops a running operation: acts in flight either commit before this (and count) or not at all. */
  async cancel(id: string): Promise<OperationView> {
    const op = await this.db.transaction(async (m) => {
      const cancelled = await this.operations.cancel(m, id);
      if (cancelled) await this.recordFinished(m, cancelled);
      return cancelled;
    });
    if (op) return operationView(op);
    const existing = await this.operations.find(id);
    if (!existing) throw new NotFoundException(`operation ${id} not found`);
    throw new ConflictException(`operation is already ${existing.status}`);
  }

  /** The one audit record of an operation, written with its final counts when it ends. */
  async recordFinished(m: EntityManager, op: OperationRow): Promise<void> {
    await this.audit.record(m, {
      actor: op.actor,
      action: 'execution.bulk',
      target: `operation:${op.id}`,
      flowId: op.filter.flowId ?? null,
      after: {
        operationId: op.id,
        action: op.action,
        filter: op.filter,
        status: op.status,
        matched: op.matched,
        done: op.done,
        failed: op.failed,
      },
    });
  }
}
