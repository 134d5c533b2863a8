import {
  HttpException,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from 'src/config/app-config';
import { runsJobs } from 'src/config/env';
import { ExecutionService } from 'src/executions/execution.service';
import { OperationLostError, OperationRepository, OperationRow } from 'src/operations/operation.repository';
import { OperationService } from 'src/operations/operation.service';

/** How often an idle worker looks for an operation to run. */
const POLL_MS = 1000;
/**
 * A worker that stops renewing (killed) loses its operations after this long; another worker (or
 * the restarted one) resumes them from their pending items. Every item and batch renews it.
 */
const LEASE_MS = 15_000;
/** Namespace of the UUIDv5 ids that replays in an operation get (any fixed UUID will do). */
const REPLAY_NAMESPACE = Buffer.from('5c1d6f9e0b2a4c7e9f3d8a1b2c4e6f80', 'hex');

/** The id of the execution that replays `executionId` in operation `operationId` (RFC 4122 v5). */
export function replayId(operationId: string, executionId: string): string {
  const hash = createHash('sha1').update(REPLAY_NAMESPACE).update(`${operationId}:${executionId}`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

type Lease = { id: string; owner: string; leaseMs: number };

/**
 * Runs bulk operations in the background (processes that run jobs: MODE=worker, or all). One
 * operation at a time per worker, leased with FOR UPDATE SKIP LOCKED so two workers never run the
 * same one; in batches of OPERATION_BATCH_SIZE with OPERATION_PAUSE_MS between them, one execution
 * at a time, through the same retry, replay and cancel code as the single-execution endpoints.
 */
@Injectable()
export class OperationRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OperationRunner.name);
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private current?: Promise<void>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly operations: OperationRepository,
    private readonly service: OperationService,
    private readonly executions: ExecutionService,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!runsJobs(this.config.values)) return;
    this.stopped = false;
    this.sleep(0);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
    await this.operations.release(this.owner).catch(() => undefined);
  }

  private sleep(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.pass().then((next) => this.sleep(next));
    }, ms);
    this.timer.unref();
  }

  /** Claims an operation and works on it until it ends or is lost; returns how long to sleep. */
  private async pass(): Promise<number> {
    try {
      const op = await this.operations.claim(this.owner, LEASE_MS);
      if (!op) return POLL_MS;
      await this.run(op);
      return 0;
    } catch (e) {
      this.logger.warn({ err: e }, 'bulk operation pass failed; it resumes on a later pass');
      return POLL_MS;
    }
  }

  private async run(op: OperationRow): Promise<void> {
    const lease: Lease = { id: op.id, owner: this.owner, leaseMs: LEASE_MS };
    const { OPERATION_BATCH_SIZE: batch, OPERATION_PAUSE_MS: pause } = this.config.values;
    while (!this.stopped) {
      if (!(await this.operations.renew(op.id, this.owner, LEASE_MS))) return;
      const ids = await this.operations.pending(op.id, batch);
      if (ids.length === 0) {
        await this.db.transaction(async (m) => {
          const finished = await this.operations.finish(m, op.id, this.owner);
          if (finished) await this.service.recordFinished(m, finished);
        });
        return;
      }
      for (const id of ids) {
        if (this.stopped || !(await this.act(op, lease, id))) return;
      }
      // The pause between batches leaves the database and the queue to live traffic.
      await delay(pause);
    }
  }

  /** Acts on one execution; false when the operation is no longer this worker's (cancelled, lease lost). */
  private async act(op: OperationRow, lease: Lease, executionId: string): Promise<boolean> {
    const record = (m: EntityManager): Promise<void> => this.operations.mark(m, lease, executionId, {});
    try {
      switch (op.action) {
        case 'retry':
          await this.executions.retry(executionId, op.actor, { record });
          break;
        case 'cancel':
          await this.executions.cancel(executionId, op.actor, { record });
          break;
        case 'replay':
          await this.replay(op, lease, executionId);
          break;
      }
      return true;
    } catch (e) {
      if (e instanceof OperationLostError) return false;
      if (!(e instanceof HttpException))
        this.logger.error({ err: e, operationId: op.id, executionId }, 'bulk act failed unexpectedly');
      // Not actable (no longer failed, already finished, flow deleted...): counted as failed with the
      // reason. When the database is away this mark fails too, and the item stays pending.
      const error = e instanceof HttpException ? e.message : `internal error: ${(e as Error).message}`;
      try {
        await this.db.transaction((m) => this.operations.mark(m, lease, executionId, { error }));
        return true;
      } catch (lost) {
        if (lost instanceof OperationLostError) return false;
        throw lost;
      }
    }
  }

  /**
   * A replay writes a new execution, outside the item's transaction; its id comes from the operation
   * and the execution, so a resume after a crash between the launch and the mark finds it and only
   * marks the item.
   */
  private async replay(op: OperationRow, lease: Lease, executionId: string): Promise<void> {
    const id = replayId(op.id, executionId);
    if (!(await this.operations.executionExists(id))) {
      // Cancelled meanwhile: launch nothing more.
      if (!(await this.operations.renew(op.id, this.owner, LEASE_MS))) throw new OperationLostError(op.id);
      await this.executions.replay(executionId, op.actor, { executionId: id });
    }
    await this.db.transaction((m) => this.operations.mark(m, lease, executionId, {}));
  }
}
