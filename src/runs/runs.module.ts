import { Module } from '@nestjs/common';
import { ExecutionsModule } from 'src/executions/executions.module';
import { FlowsModule } from 'src/flows/flows.module';
import { DryRunService } from 'src/runs/dry-run.service';
import { FlowRunController } from 'src/runs/flow-run.controller';
import { FlowRunService } from 'src/runs/flow-run.service';
import { RunStarter } from 'src/runs/run-starter.service';
import { SecretsModule } from 'src/secrets/secrets.module';

/**
 * Starting runs outside webhooks: manual and dry runs, and RunStarter, which the event bus and the
 * scheduler use to start executions atomically with their own writes.
 */
@Module({
  imports: [FlowsModule, ExecutionsModule, SecretsModule],
  controllers: [FlowRunController],
  providers: [RunStarter, FlowRunService, DryRunService],
  exports: [RunStarter],
})
export class RunsModule {}
