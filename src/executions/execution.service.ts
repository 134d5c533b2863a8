import { InjectQueue } from '@nestjs/bull';
import {
  BadRequestException,
  ConflictException,
  Injectable,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { isUUID } from 'class-validator';
import type { Queue } from 'bull';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { jsonb } from 'src/common/jsonb';
import { decodeCursor, Page, toPage } from 'src/common/pagination';
import { ListExecutionsDto } from 'src/executions/dto/list-executions.dto';
import { ExecutionPageRow, pageSql, rangeProblem } from 'src/executions/execution-filter';
import { ExecutionEntity, StepRecord } from 'src/executions/execution.entity';
import { ExecutionLauncher } from 'src/executions/execution-launcher.service';
import { routeEvent } from 'src/executions/route-event';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { RunStepJob, STEPS_QUEUE, stepJobId } from 'src/queue/queue.constants';
import { maskSecrets } from 'src/secrets/secret-cipher';
import { SecretsService } from 'src/secrets/secrets.service';

/**
 * One act of a bulk operation (src/operations): its bookkeeping commits in the act's own
 * transaction, in place of the per-execution audit record (the operation writes one
 * `execution.bulk` record), so a resumed operation neither repeats nor skips an act.
 */
export interface BulkAct {
  record(m: EntityManager): Promise<void>;
}

@Injectable()
export class ExecutionService {
  private readonly logger = new Logger(ExecutionService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly flows: FlowCacheService,
    private readonly secrets: SecretsService,
    private readonly launcher: ExecutionLauncher,
    private readonly audit: AuditService,
    @InjectQueue(STEPS_QUEUE) private readonly queue: Queue<RunStepJob>,
  ) {}

  async list(query: ListExecutionsDto): Promise<Page<Record<string, unknown>>> {
    const range = rangeProblem(query);
    if (range) throw new BadRequestException([range]);
    const cursor = decodeCursor(query.cursor);
    if (cursor && !isUUID(cursor.id))
      throw new BadRequestException('cursor is not a cursor this API gave out');
    const { text, values } = pageSql(query, cursor, query.limit + 1);
    const rows: ExecutionPageRow[] = await this.db.query(text, values);
    const secrets = Object.values(await this.secrets.values());
    return toPage(
      rows,
      query.limit,
      (r) =>
        maskSecrets(
          this.summary({
            id: r.id,
            flowId: r.flow_id,
            flowVersion: r.flow_version,
            status: r.status,
            error: r.error,
            createdAt: r.created_at,
            startedAt: r.started_at,
            finishedAt: r.finished_at,
          }),
          secrets,
        ),
      (r) => [r.created_at, r.id],
    );
  }

  async get(id: string): Promise<Record<string, unknown>> {
    const e = await this.find(id);
    const flow = await this.flows.get(e.flowId, e.flowVersion);
    // Failed before any step ran (its filter or idempotency key failed): its steps did not run.
    const unrun = e.status === 'failed' && e.startedAt === null ? 'cancelled' : 'pending';
    const steps = flow.steps.map(({ def }) => {
      const rec: StepRecord = e.steps[def.id] ?? { status: unrun, attempts: [] };
      return {
        id: def.id,
        type: def.type,
        ...(def.name ? { name: def.name } : {}),
        status: rec.status,
        ...(rec.output !== undefined ? { output: rec.output } : {}),
        ...(rec.error !== undefined ? { error: rec.error } : {}),
        ...(rec.resumeAt !== undefined && rec.status === 'waiting' ? { resumeAt: rec.resumeAt } : {}),
        attempts: rec.attempts,
      };
    });
    const secrets = Object.values(await this.secrets.values());
    return maskSecrets({ ...this.summary(e), event: e.event, steps }, secrets);
  }

  private summary(
    e: Pick<
      ExecutionEntity,
      'id' | 'flowId' | 'flowVersion' | 'status' | 'error' | 'createdAt' | 'startedAt' | 'finishedAt'
    >,
  ): Record<string, unknown> {
    return {
      id: e.id,
      flowId: e.flowId,
      flowVersion: e.flowVersion,
      status: e.status,
      ...(e.error ? { error: e.error } : {}),
      createdAt: e.createdAt.toISOString(),
      ...(e.startedAt ? { startedAt: e.startedAt.toISOString() } : {}),
      ...(e.finishedAt ? { finishedAt: e.finishedAt.toISOString() } : {}),
    };
  }

  private async find(id: string): Promise<ExecutionEntity> {
    const e = await this.db.getRepository(ExecutionEntity).findOne({ where: { id } });
    if (!e) throw new NotFoundException(`execution ${id} not found`);
    return e;
  }

  /** Resumes a failed execution at the step that failed: same execution, attempts appended. */
  async retry(id: string, actor: string, bulk?: BulkAct): Promise<Record<string, unknown>> {
    const next = await this.db.transaction(async (m) => {
      const e = await m.findOne(ExecutionEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!e) throw new NotFoundException(`execution ${id} not found`);
      if (e.status !== 'failed')
        throw new ConflictException(`only a failed execution can be retried; this one is ${e.status}`);
      const flow = await this.flows.get(e.flowId, e.flowVersion);
      const failed = flow.steps.find(
        ({ def }) => e.steps[def.id]?.status === 'failed' && !def.continueOnError,
      );
      const from = failed?.def.id ?? flow.steps[0]?.def.id ?? '_';
      if (failed) {
        const rec = e.steps[from];
        rec.status = 'pending';
        delete rec.error;
      }
      // A fresh sequence (the clock) so the new job id never meets one Bull may still hold.
      const jobId = stepJobId(id, from, Date.now());
      await m.query(
        `UPDATE executions SET status = 'queued', steps = $2::jsonb, error = NULL, job_id = $3, run_at = now(),
                finished_at = NULL, updated_at = now() WHERE id = $1`,
        [id, jsonb(e.steps), jobId],
      );
      if (bulk) await bulk.record(m);
      else
        await this.audit.record(m, {
          actor,
          action: 'execution.retried',
          target: `execution:${id}`,
          flowId: e.flowId,
          after: { fromStep: from },
        });
      return { jobId, stepId: from };
    });
    this.launcher.enqueue({ v: 1, executionId: id, stepId: next.stepId }, next.jobId);
    return { executionId: id, status: 'queued' };
  }

  /**
   * A new execution with the same event, run by the flow's current version (as Zapier's replay does),
   * so that an event can go through a fixed flow again; the current filter applies too. A bulk
   * operation names the new execution itself (so a resume can see it exists) and audits once.
   */
  async replay(id: string, actor: string, bulk?: { executionId: string }): Promise<{ executionId: string }> {
    const e = await this.find(id);
    const rows: Array<{ version: number; deleted: boolean }> = await this.db.query(
      'SELECT version, deleted_at IS NOT NULL AS deleted FROM flows WHERE id = $1',
      [e.flowId],
    );
    if (!rows[0] || rows[0].deleted) {
      throw new ConflictException(`flow ${e.flowId} was deleted; its executions cannot be replayed`);
    }
    const flow = await this.flows.get(e.flowId, rows[0].version);
    const executionId = bulk?.executionId ?? this.launcher.newId();
    const route = await routeEvent(flow, e.event, executionId, await this.secrets.values());
    if (!bulk) {
      await this.db.transaction(async (m) => {
        await this.audit.record(m, {
          actor,
          action: 'execution.replayed',
          target: `execution:${id}`,
          flowId: e.flowId,
          after: { executionId },
        });
      });
    }
    await this.launcher.launch(flow, e.event, { executionId, depth: e.depth, ...route });
    return { executionId };
  }

  /** Stops a queued, running or waiting execution; its unfinished steps become `cancelled`. */
  async cancel(id: string, actor: string, bulk?: BulkAct): Promise<Record<string, unknown>> {
    const jobId = await this.db.transaction(async (m) => {
      const e = await m.findOne(ExecutionEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!e) throw new NotFoundException(`execution ${id} not found`);
      if (!['queued', 'running', 'waiting'].includes(e.status)) {
        throw new ConflictException(`execution is already ${e.status}`);
      }
      const flow = await this.flows.get(e.flowId, e.flowVersion);
      for (const { def } of flow.steps) {
        const rec = (e.steps[def.id] ??= { status: 'pending', attempts: [] });
        if (['pending', 'running', 'waiting'].includes(rec.status)) {
          rec.status = 'cancelled';
          delete rec.resumeAt;
        }
      }
      await m.query(
        `UPDATE executions SET status = 'cancelled', steps = $2::jsonb, job_id = NULL, run_at = NULL,
                finished_at = now(), updated_at = now() WHERE id = $1`,
        [id, jsonb(e.steps)],
      );
      if (bulk) await bulk.record(m);
      else
        await this.audit.record(m, {
          actor,
          action: 'execution.cancelled',
          target: `execution:${id}`,
          flowId: e.flowId,
          before: { status: e.status },
        });
      return e.jobId;
    });
    // The runner ignores the job now (fenced by job_id); removing a delayed one just tidies Redis.
    // An active job cannot be removed: its attempt finishes, and its result is not written.
    if (jobId) {
      await this.queue
        .getJob(jobId)
        .then((job) => job?.remove())
        .catch((err: unknown) =>
          this.logger.debug({ err, jobId }, 'job of a cancelled execution not removed'),
        );
    }
    return bulk ? { id, status: 'cancelled' } : this.get(id);
  }
}
