import {
  BadRequestException,
  ConflictException,
  Injectable,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { isUUID } from 'class-validator';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { decodeCursor, Page, toPage } from 'src/common/pagination';
import { ListExecutionsDto } from 'src/executions/dto/list-executions.dto';
import { BatchService } from 'src/executions/batching/batch.service';
import { rangeProblem } from 'src/executions/execution-filter';
import { ExecutionEntity } from 'src/executions/execution.entity';
import { ExecutionPageRepository, ExecutionSummary } from 'src/executions/execution-page.repository';
import { ExecutionRepository } from 'src/executions/execution.repository';
import { ExecutionLauncher } from 'src/executions/execution-launcher.service';
import { ON_ERROR_KEY } from 'src/executions/flow-walker';
import { IterationRepository } from 'src/executions/loops/iteration.repository';
import { LoopCoordinator } from 'src/executions/loops/loop-coordinator.service';
import { stepRecordsView } from 'src/executions/step-records-view';
import { routeEvent } from 'src/executions/route-event';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { firstStepOf, stepJobId } from 'src/queue/queue.constants';
import { StepQueue } from 'src/queue/step-queue.service';
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
    private readonly executions: ExecutionRepository,
    private readonly pages: ExecutionPageRepository,
    private readonly flows: FlowCacheService,
    private readonly secrets: SecretsService,
    private readonly launcher: ExecutionLauncher,
    private readonly audit: AuditService,
    private readonly queue: StepQueue,
    private readonly iterations: IterationRepository,
    private readonly loops: LoopCoordinator,
    private readonly batches: BatchService,
  ) {}

  async list(query: ListExecutionsDto): Promise<Page<Record<string, unknown>>> {
    const range = rangeProblem(query);
    if (range) throw new BadRequestException([range]);
    const cursor = decodeCursor(query.cursor);
    if (cursor && !isUUID(cursor.id))
      throw new BadRequestException('cursor is not a cursor this API gave out');
    const rows = await this.pages.page(query, cursor, query.limit + 1);
    const secrets = Object.values(await this.secrets.values());
    return toPage(
      rows,
      query.limit,
      (r) => maskSecrets(this.summary(r), secrets),
      (r) => [r.createdAt, r.id],
    );
  }

  async get(id: string): Promise<Record<string, unknown>> {
    const e = await this.find(id);
    // A trigger `batch` group still gathering: its event shows the members so far.
    if (e.status === 'batching') e.event = (await this.batches.eventSoFar(id)) ?? e.event;
    const flow = await this.flows.get(e.flowId, e.flowVersion);
    // Failed before any step ran (its filter or idempotency key failed): no step will run.
    const unrun = e.status === 'failed' && e.startedAt === null ? 'cancelled' : 'pending';
    // A forEach's counters: one small row per loop, whatever its number of items.
    const loops = [...flow.byId.values()].some((s) => s.loop)
      ? await this.iterations.counters(id)
      : undefined;
    const records = stepRecordsView(flow, e.steps, unrun, loops);
    const secrets = Object.values(await this.secrets.values());
    return maskSecrets({ ...this.summary(e), event: e.event, ...records }, secrets);
  }

  private summary(e: ExecutionSummary): Record<string, unknown> {
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
      // Everything that failed runs again (a branch walks into its chosen cases again), what succeeded
      // keeps its output; the onError steps run again if the retry fails too.
      const failed = [...flow.byId.values()].filter(
        ({ def }) => e.steps[def.id]?.status === 'failed' && !def.continueOnError,
      );
      for (const { def } of failed) {
        const rec = e.steps[def.id];
        rec.status = rec.taken ? 'running' : 'pending';
        delete rec.error;
      }
      for (const { def } of flow.onError) delete e.steps[def.id];
      delete e.steps[ON_ERROR_KEY];
      const from = failed.find((s) => !s.branch)?.def.id ?? firstStepOf(flow);
      // A fresh sequence (the clock) so the new job id never meets one Bull may still hold. An
      // execution of a flow with `concurrency` goes back in line (at its old place) for a slot.
      const jobId = e.concurrencyKey ? null : stepJobId(id, from, Date.now());
      await this.executions.requeueForRetry(m, id, e.steps, jobId);
      if (bulk) await bulk.record(m);
      else
        await this.audit.record(m, {
          actor,
          action: 'execution.retried',
          target: `execution:${id}`,
          flowId: e.flowId,
          after: { fromStep: from },
        });
      return { jobId, stepId: from, line: e.concurrencyKey };
    });
    if (next.jobId) this.launcher.enqueue({ v: 1, executionId: id, stepId: next.stepId }, next.jobId);
    else if (next.line) this.launcher.admit(next.line);
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
    // A group still gathering is replayed with the events it holds so far.
    if (e.status === 'batching') e.event = (await this.batches.eventSoFar(id)) ?? e.event;
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
    // Alone, even for a flow with a trigger `batch`: the answer (and a bulk operation) names this id.
    await this.launcher.launch(flow, e.event, { executionId, depth: e.depth, ...route, alone: true });
    return { executionId };
  }

  /**
   * Stops a batching, queued, running or waiting execution; its unfinished steps become `cancelled`.
   * A `batching` group keeps the events it had gathered (its later events start a new group).
   */
  async cancel(id: string, actor: string, bulk?: BulkAct): Promise<Record<string, unknown>> {
    const { jobId, line } = await this.db.transaction(async (m) => {
      const e = await m.findOne(ExecutionEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!e) throw new NotFoundException(`execution ${id} not found`);
      if (!['batching', 'queued', 'running', 'waiting'].includes(e.status)) {
        throw new ConflictException(`execution is already ${e.status}`);
      }
      if (e.status === 'batching') await this.batches.foldForCancel(m, id, e.event);
      const flow = await this.flows.get(e.flowId, e.flowVersion);
      for (const { def } of flow.steps) {
        const rec = (e.steps[def.id] ??= { status: 'pending', attempts: [] });
        if (['pending', 'running', 'waiting'].includes(rec.status)) {
          rec.status = 'cancelled';
          delete rec.resumeAt;
        }
      }
      // Nested and onError steps that have a record (those that were reached).
      for (const { def } of flow.byId.values()) {
        const rec = e.steps[def.id];
        if (!rec) continue;
        if (['pending', 'running', 'waiting'].includes(rec.status)) {
          rec.status = 'cancelled';
          delete rec.resumeAt;
        }
      }
      await this.executions.markCancelled(m, id, e.steps);
      if (bulk) await bulk.record(m);
      else
        await this.audit.record(m, {
          actor,
          action: 'execution.cancelled',
          target: `execution:${id}`,
          flowId: e.flowId,
          before: { status: e.status },
        });
      return { jobId: e.jobId, line: e.concurrencyKey };
    });
    // Its concurrency slot (or place in line) is free: the next execution in its line starts.
    if (line) this.launcher.admit(line);
    // Then the items of its loops (pending ones never start; running ones are fenced out). An item
    // job that finds the execution cancelled does this too, should this process stop here.
    await this.loops.cancel(id);
    // The runner ignores the job now (fenced by job_id); removing a delayed one just tidies Redis.
    // An active job cannot be removed: its attempt finishes, and its result is not written.
    if (jobId) {
      await this.queue
        .remove(jobId)
        .catch((err: unknown) =>
          this.logger.debug({ err, jobId }, 'job of a cancelled execution not removed'),
        );
    }
    return bulk ? { id, status: 'cancelled' } : this.get(id);
  }
}
