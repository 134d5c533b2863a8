import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ExecutionLauncher } from 'src/executions/execution-launcher.service';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { FlowService } from 'src/flows/flow.service';
import { routeEvent } from 'src/executions/route-event';
import { SecretsService } from 'src/secrets/secrets.service';

/**
 * Manual runs (`POST /flows/{id}/run`): the current version, with the payload as `event.body`. A
 * disabled flow can be run by hand (enabled only gates its trigger); the filter still applies.
 */
@Injectable()
export class FlowRunService {
  constructor(
    private readonly flowService: FlowService,
    private readonly flows: FlowCacheService,
    private readonly launcher: ExecutionLauncher,
    private readonly secrets: SecretsService,
  ) {}

  async run(flowId: string, payload: unknown): Promise<{ executionId: string }> {
    const row = await this.flowService.get(flowId);
    const flow = await this.flows.get(row.id, row.version);
    const event: FlowEvent = {
      id: randomUUID(),
      type: 'manual',
      receivedAt: new Date().toISOString(),
      body: payload === undefined ? {} : payload,
    };
    const executionId = this.launcher.newId();
    const route = await routeEvent(flow, event, executionId, await this.secrets.values());
    await this.launcher.launch(flow, event, { executionId, ...route });
    return { executionId };
  }
}
