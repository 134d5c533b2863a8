import { Module } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import { DestinationsModule } from 'src/destinations/destinations.module';
import { EventsModule } from 'src/events/events.module';
import { BatchCloseProcessor } from 'src/executions/batching/batch-close.processor';
import { EventsService } from 'src/events/events.service';
import { ExecutionFailedPublisher } from 'src/events/execution-failed.publisher';
import { ExecutionsModule } from 'src/executions/executions.module';
import { ReconcilerService } from 'src/executions/reconciler.service';
import { StepRunProcessor } from 'src/executions/step-run.processor';
import { StepRunner } from 'src/executions/step-runner.service';
import { FlowsModule } from 'src/flows/flows.module';
import { SecretsModule } from 'src/secrets/secrets.module';
import { OutboundConnections } from 'src/steps/connections/outbound-connections';
import { parseAllowList } from 'src/steps/outbound/address-guard';
import { createGuardedLookup } from 'src/steps/outbound/guarded-lookup';
import { NodeOutboundHttp } from 'src/steps/outbound/http-client';
import { STEP_SERVICES, StepServices } from 'src/steps/step-handler';

/** What runs steps: MODE=worker or all. */
@Module({
  imports: [ExecutionsModule, FlowsModule, SecretsModule, EventsModule, DestinationsModule],
  providers: [
    StepRunner,
    StepRunProcessor,
    BatchCloseProcessor,
    ReconcilerService,
    ExecutionFailedPublisher,
    {
      // Closed on shutdown by Nest (onApplicationShutdown).
      provide: OutboundConnections,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new OutboundConnections(parseAllowList(config.values.OUTBOUND_ALLOW)),
    },
    {
      provide: STEP_SERVICES,
      inject: [AppConfig, EventsService, OutboundConnections],
      useFactory: (
        config: AppConfig,
        events: EventsService,
        connections: OutboundConnections,
      ): StepServices => {
        const allow = parseAllowList(config.values.OUTBOUND_ALLOW);
        return {
          http: new NodeOutboundHttp(createGuardedLookup(allow), allow),
          slackApiUrl: config.values.SLACK_API_URL,
          events,
          connections,
        };
      },
    },
  ],
  exports: [ReconcilerService],
})
export class WorkerModule {}
