import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/** What the runner knows of an execution that reached a final status. */
export interface FinishedExecution {
  id: string;
  flowId: string;
  flowVersion: number;
}

export type FinishedRelay = (execution: FinishedExecution, status: string) => void;

/**
 * Tells sync webhook answers that their execution reached a final status. A waiter lives in the
 * process that accepted the request; when the run ends in another process, the news goes through
 * the relay (ExecutionOutcomesRelay, Redis pub/sub) and comes back here by `deliver`.
 */
@Injectable()
export class ExecutionOutcomes {
  private readonly local = new EventEmitter().setMaxListeners(0);
  private relay?: FinishedRelay;

  relayWith(relay: FinishedRelay): void {
    this.relay = relay;
  }

  finished(execution: FinishedExecution, status: string): void {
    // At most one request waits for an execution; when it waits here, no other process needs to know.
    if (this.local.emit(execution.id, status)) return;
    this.relay?.(execution, status);
  }

  /** Called by the relay for executions finished in another process. */
  deliver(id: string, status: string): void {
    this.local.emit(id, status);
  }

  /** Resolves with the final status, or null when `timeoutMs` passes first. */
  waitFor(id: string, timeoutMs: number): { promise: Promise<string | null>; cancel: () => void } {
    let cancel = (): void => undefined;
    const promise = new Promise<string | null>((resolve) => {
      const onFinish = (status: string): void => {
        clearTimeout(timer);
        resolve(status);
      };
      const timer = setTimeout(() => {
        this.local.off(id, onFinish);
        resolve(null);
      }, timeoutMs);
      this.local.once(id, onFinish);
      cancel = () => {
        clearTimeout(timer);
        this.local.off(id, onFinish);
        resolve(null);
      };
    });
    return { promise, cancel };
  }
}
