import { Injectable, Logger } from '@nestjs/common';
import { BrokerMessage, brokerEvent, messageIdKey } from 'src/brokers/broker-event';
import { ExecutionLauncher } from 'src/executions/execution-launcher.service';
import { routeEvent } from 'src/executions/route-event';
import { BrokerTriggerType } from 'src/flows/definitions/broker-trigger.dto';
import { CompiledFlow } from 'src/flows/flow-compiler';
import { SecretsService } from 'src/secrets/secrets.service';

export interface Accepted {
  executionId: string;
  duplicate: boolean;
}

/**
 * A broker message becomes an execution the way a webhook does (API.md §11): routed through the
 * flow's idempotency key and filter, stored as `queued`, `filtered` or `failed`. The promise settles
 * after the row is committed — only then may the consumer acknowledge the message. Without a key
 * the insert joins the launcher's batched INSERT; with one it joins the batched key-and-execution
 * insert (ExecutionRepository.insertOnce), so a redelivered message starts nothing.
 */
@Injectable()
export class BrokerIntake {
  private readonly logger = new Logger(BrokerIntake.name);

  constructor(
    private readonly launcher: ExecutionLauncher,
    private readonly secrets: SecretsService,
  ) {}

  async accept(flow: CompiledFlow, type: BrokerTriggerType, message: BrokerMessage): Promise<Accepted> {
    const event = brokerEvent(type, message);
    const secrets = flow.filter || flow.idempotencyKey ? await this.secrets.values() : {};
    const executionId = this.launcher.newId();
    const { filtered, failure, key } = await routeEvent(flow, event, executionId, secrets, {
      idempotencyKey: true,
    });
    if (failure !== undefined)
      this.logger.warn({ flowId: flow.id, error: failure }, 'broker message kept as a failed execution');
    // The trigger's own key when it has one (even when it gives nothing); the message id otherwise,
    // and also when the key expression failed, so a redelivery does not store a second failure.
    const useMessageId = !flow.idempotencyKey || (failure !== undefined && key === undefined);
    const stored =
      key ?? (useMessageId && message.messageId !== undefined ? messageIdKey(message.messageId) : undefined);
    const opts = { executionId, filtered, failure };
    if (stored === undefined) {
      const launched = await this.launcher.launch(flow, event, opts);
      return { executionId: launched.executionId, duplicate: false };
    }
    const launched = await this.launcher.launchOnce(flow, event, stored, opts);
    return { executionId: launched.executionId, duplicate: launched.duplicate };
  }
}
