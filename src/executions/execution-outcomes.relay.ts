import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from 'src/config/app-config';
import { ExecutionOutcomes, FinishedExecution } from 'src/executions/execution-outcomes.service';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { StepQueue } from 'src/queue/step-queue.service';

/** How long boot waits for the subscription before going on (ioredis keeps trying after that). */
const SUBSCRIBE_WAIT_MS = 5000;

interface FinishedMessage {
  id: string;
  status: string;
}

/**
 * Carries "execution finished" between processes (MODE=api and MODE=worker) over Redis pub/sub, on
 * one channel under QUEUE_PREFIX. Only runs of flows with a sync trigger are published, and only
 * when the waiting request is not in the process that ran them; every HTTP process subscribes.
 * A message lost to a Redis hiccup costs a sync answer its speed, not its result: the accept
 * path reads the execution when the wait runs out.
 */
@Injectable()
export class ExecutionOutcomesRelay implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ExecutionOutcomesRelay.name);
  private readonly channel: string;
  private subscriber?: Redis;

  constructor(
    private readonly outcomes: ExecutionOutcomes,
    private readonly flows: FlowCacheService,
    private readonly queue: StepQueue,
    private readonly config: AppConfig,
  ) {
    this.channel = `${config.values.QUEUE_PREFIX}:execution-finished`;
  }

  async onModuleInit(): Promise<void> {
    this.outcomes.relayWith((execution, status) => void this.publish(execution, status));
    if (this.config.values.MODE === 'worker') return; // no HTTP here, so no sync request waits here
    const subscriber = this.queue.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', (e: Error) => this.logger.warn({ err: e.message }, 'relay connection error'));
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.channel) this.receive(text);
    });
    let timer: NodeJS.Timeout | undefined;
    const subscribed = subscriber.subscribe(this.channel).then(
      () => true,
      () => false,
    );
    const ready = await Promise.race([
      subscribed,
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), SUBSCRIBE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (!ready)
      this.logger.warn('not yet subscribed to execution news; sync answers may wait for their timeout');
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }

  private async publish(execution: FinishedExecution, status: string): Promise<void> {
    try {
      const flow = await this.flows.get(execution.flowId, execution.flowVersion);
      const trigger = flow.definition.trigger;
      if (trigger.type !== 'webhook' || trigger.response?.mode !== 'sync') return;
      const message: FinishedMessage = { id: execution.id, status };
      await this.queue.redis.publish(this.channel, JSON.stringify(message));
    } catch (e) {
      this.logger.warn(
        { err: (e as Error).message, executionId: execution.id },
        'could not relay execution news',
      );
    }
  }

  private receive(text: string): void {
    try {
      const message = JSON.parse(text) as Partial<FinishedMessage>;
      if (typeof message.id === 'string' && typeof message.status === 'string')
        this.outcomes.deliver(message.id, message.status);
    } catch {
      // not ours: ignore
    }
  }
}
