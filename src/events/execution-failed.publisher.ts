import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventsService } from 'src/events/events.service';
import { ExecutionFailure, ExecutionFailureRepository } from 'src/executions/execution-failure.repository';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { maskSecrets } from 'src/secrets/secret-cipher';
import { SecretsService } from 'src/secrets/secrets.service';

export const EXECUTION_FAILED_EVENT = 'hookflow.execution.failed';

/** How often the outbox is looked at; a failure alert goes out within about this long. */
const POLL_MS = 500;
const BATCH = 50;

/** What a listener gets as `event.body` (API.md §12). */
export interface ExecutionFailedData {
  executionId: string;
  flowId: string;
  flowName: string | null;
  stepId: string | null;
  error: string | null;
  at: string;
}

/**
 * Publishes `hookflow.execution.failed` on the event bus (API.md §12). Failures are not taken from
 * the runner's memory: a trigger writes them to `execution_failures` in the transaction that makes
 * the execution `failed` (migrations/1764000002100-BulkOperations.ts), whichever path did it — a
 * step, a filter at birth, a row PostgreSQL refused. This drains that outbox (ExecutionFailureRepository): publish with an
 * idempotency key made of the execution and the outbox row, then delete the row. A process that
 * dies anywhere in between leaves the row, and the next pass (here or in another worker) publishes
 * it again under the same key, which the bus answers with the first event: one event per failure.
 * A second failure of the same execution (after a retry) is a new row, so a new event.
 */
@Injectable()
export class ExecutionFailedPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExecutionFailedPublisher.name);
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private current?: Promise<void>;

  constructor(
    private readonly failures: ExecutionFailureRepository,
    private readonly events: EventsService,
    private readonly flows: FlowCacheService,
    private readonly secrets: SecretsService,
  ) {}

  onApplicationBootstrap(): void {
    this.sleep(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private sleep(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.drain().then(
        (n) => this.sleep(n === BATCH ? 0 : POLL_MS),
        (e: unknown) => {
          this.logger.warn({ err: e }, 'failure events not published; the next pass tries again');
          this.sleep(POLL_MS);
        },
      );
    }, ms);
    this.timer.unref();
  }

  /** One pass over the outbox; returns how many rows it looked at. */
  async drain(): Promise<number> {
    const rows = await this.failures.oldest(BATCH);
    for (const row of rows) {
      try {
        // An execution pruned before its failure went out has nothing left to tell.
        if (row.flowId !== null) {
          await this.events.publish({
            type: EXECUTION_FAILED_EVENT,
            data: await this.data(row, row.flowId),
            idempotencyKey: `${EXECUTION_FAILED_EVENT}:${row.executionId}:${row.id}`,
            // One deeper than the failed run, so emit chains through failure flows stay bounded.
            depth: (row.depth ?? 0) + 1,
          });
        }
        await this.failures.remove(row.id);
      } catch (e) {
        this.logger.warn(
          { err: e, executionId: row.executionId },
          'failure event not published; the next pass tries again',
        );
      }
    }
    return rows.length;
  }

  private async data(row: ExecutionFailure, flowId: string): Promise<ExecutionFailedData> {
    const secrets = Object.values(await this.secrets.values());
    return maskSecrets(
      {
        executionId: row.executionId,
        flowId,
        flowName: row.flowName,
        stepId: await this.failedStep(row, flowId),
        error: row.error,
        at: new Date(row.at).toISOString(),
      },
      secrets,
    );
  }

  /** The step the execution failed at, in the flow's order; null when it failed before any step ran. */
  private async failedStep(row: ExecutionFailure, flowId: string): Promise<string | null> {
    const steps = row.steps ?? {};
    try {
      const flow = await this.flows.get(flowId, row.flowVersion ?? 0);
      const step = flow.steps.find(({ def }) => steps[def.id]?.status === 'failed' && !def.continueOnError);
      if (step) return step.def.id;
    } catch {
      // the version is gone: fall back to the record alone
    }
    return Object.keys(steps).find((id) => steps[id]?.status === 'failed') ?? null;
  }
}
