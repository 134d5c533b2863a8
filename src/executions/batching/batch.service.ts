import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { jsonb } from 'src/common/jsonb';
import { batchEvent, batchGroup, joinsBatch } from 'src/executions/batching/batch-group';
import { BatchRepository, Query } from 'src/executions/batching/batch.repository';
import { concurrencyGroup } from 'src/executions/concurrency/concurrency-key';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { CompiledBatch } from 'src/flows/definitions/trigger-batch';
import { CompiledFlow } from 'src/flows/flow-compiler';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { firstStepOf, stepJobId } from 'src/queue/queue.constants';
import { StepQueue } from 'src/queue/step-queue.service';
import { SecretsService } from 'src/secrets/secrets.service';

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
 * Closing is a `batching` → `queued` change of the locked row, so it happens once. The statements
 * are BatchRepository's.
 */
@Injectable()
export class BatchService {
  private readonly logger = new Logger(BatchService.name);

  constructor(
    private readonly repository: BatchRepository,
    private readonly flows: FlowCacheService,
    private readonly secrets: SecretsService,
    private readonly queue: StepQueue,
  ) {}

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
      const joined = await this.join(this.repository.autocommit, input);
      this.afterCommit(input.flow, joined);
      return joined;
    }
    const joined = await this.repository.transaction(
      (q) => this.join(q, input),
      (j) => !j.duplicate,
    );
    if (!joined.duplicate) this.afterCommit(input.flow, joined);
    return joined;
  }

  /**
   * The same inside a caller's transaction (the event bus, whose events carry their own idempotency
   * key: none here, as a repeat could not be rolled back alone); afterCommit once it committed.
   */
  joinIn(m: EntityManager, input: JoinInput): Promise<Joined> {
    return this.join(this.repository.inManager(m), input);
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
      // The group taking events and the member at its place, in one statement; the event that fills it
      // marks it due (the next event opens a new group) and is closed by close(), or by the reconciler.
      const open = await this.repository.joinOpen(q, key, depth, member);
      const full = open ? open.count >= open.max : false;
      const id = open ? open.id : await this.openGroup(q, input, batch, member);
      // Another process opened this group meanwhile (we waited for its commit): join that one.
      if (id === undefined) continue;
      if (input.idempotencyKey !== undefined) {
        const storedKey = input.idempotencyKey.replaceAll('\u0000', '\ufffd');
        if (!(await this.repository.insertKey(q, flow.id, storedKey, id))) {
          // A repeat: nothing of this transaction is kept (the caller rolls it back).
          const first = await this.repository.keyHolder(q, flow.id, storedKey);
          if (!first) throw new Error('idempotency key vanished between insert and read');
          return { executionId: first, duplicate: true };
        }
      }
      return { executionId: id, duplicate: false, created: !open, full };
    }
    throw new Error(`could not join batch group ${key} after ${JOIN_TRIES} tries`);
  }

  /** A new group for the event's key, with the event as its first member; undefined when one was opened meanwhile. */
  private openGroup(
    q: Query,
    input: JoinInput,
    batch: CompiledBatch,
    member: string,
  ): Promise<string | undefined> {
    const { flow, event, key, depth } = input;
    const envelope: FlowEvent = {
      id: randomUUID(),
      type: 'batch',
      receivedAt: event.receivedAt,
      body: [],
      events: [],
    };
    return this.repository.openGroup(
      q,
      {
        id: randomUUID(),
        flowId: flow.id,
        flowVersion: flow.version,
        envelope,
        depth,
        key,
        windowMs: batch.windowMs,
        maxItems: batch.maxItems,
      },
      member,
    );
  }

  /** Closes a group: full, or due by time (its job, the reconciler); null when it had closed already. */
  async close(executionId: string): Promise<ClosedBatch | null> {
    const open = await this.repository.openVersion(executionId);
    if (!open) return null;
    const flow = await this.flows.get(open.flowId, open.flowVersion);
    const context = { flow, secrets: flow.concurrency?.key ? await this.secrets.values() : {} };
    return this.repository.transaction((q) => this.closeLocked(q, executionId, context));
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
    const row = await this.repository.lockOpen(q, executionId);
    if (!row) return null;
    // A group's flow version never changes (it is part of batch_key): the context read before is its own.
    const { flow, secrets } = context;
    if (flow.id !== row.flowId || flow.version !== row.flowVersion)
      throw new Error(
        `batch ${executionId} is of flow ${row.flowId} v${row.flowVersion}, not v${flow.version}`,
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
    await this.repository.markClosed(q, { executionId, status, event, jobId, error, concurrencyKey });
    return { executionId, status, jobId, firstStep, concurrencyKey };
  }

  /** The group's event from its members (deleted: from now on they live in the event), in arrival order. */
  private async fold(q: Query, executionId: string, envelope: FlowEvent): Promise<FlowEvent> {
    return batchEvent(envelope, await this.repository.takeMembers(q, executionId));
  }

  /**
   * A cancel of a `batching` execution (in the cancel's transaction, row locked): the members so far
   * become its event, so the record (and a replay) shows what it had gathered.
   */
  async foldForCancel(m: EntityManager, executionId: string, envelope: FlowEvent): Promise<void> {
    const q = this.repository.inManager(m);
    const event = await this.fold(q, executionId, envelope);
    await this.repository.setEvent(q, executionId, event);
  }

  /**
   * The event of a group read while `batching` (GET /executions/{id}, a replay): the members so far.
   * One statement, so a close that committed since the row was read gives its folded event instead.
   */
  async eventSoFar(executionId: string): Promise<FlowEvent | null> {
    const row = await this.repository.eventAndMembers(executionId);
    if (!row) return null;
    return row.members ? batchEvent(row.event, row.members) : row.event;
  }

  /** Open groups whose time ran out `graceMs` ago: their close job was lost (Redis wiped) or failed. */
  overdue(graceMs: number, limit: number): Promise<string[]> {
    return this.repository.overdue(graceMs, limit);
  }
}
