import { Module } from '@nestjs/common';
import { BatchRepository } from 'src/executions/batching/batch.repository';
import { BatchService } from 'src/executions/batching/batch.service';
import { ConcurrencyRepository } from 'src/executions/concurrency/concurrency.repository';
import { ExecutionController } from 'src/executions/execution.controller';
import { ExecutionOutcomesRelay } from 'src/executions/execution-outcomes.relay';
import { ExecutionOutcomes } from 'src/executions/execution-outcomes.service';
import { ExecutionLauncher } from 'src/executions/execution-launcher.service';
import { ExecutionFailureRepository } from 'src/executions/execution-failure.repository';
import { ExecutionPageRepository } from 'src/executions/execution-page.repository';
import { ExecutionRepository } from 'src/executions/execution.repository';
import { ExecutionRetentionRepository } from 'src/executions/execution-retention.repository';
import { ExecutionService } from 'src/executions/execution.service';
import { IterationPageService } from 'src/executions/loops/iteration-page.service';
import { IterationRepository } from 'src/executions/loops/iteration.repository';
import { LoopCoordinator } from 'src/executions/loops/loop-coordinator.service';
import { LoopRunner } from 'src/executions/loops/loop-runner.service';
import { FlowsModule } from 'src/flows/flows.module';
import { SecretsModule } from 'src/secrets/secrets.module';

@Module({
  imports: [FlowsModule, SecretsModule],
  controllers: [ExecutionController],
  providers: [
    BatchRepository,
    BatchService,
    ExecutionRepository,
    ExecutionPageRepository,
    ExecutionFailureRepository,
    ExecutionRetentionRepository,
    ConcurrencyRepository,
    ExecutionLauncher,
    ExecutionOutcomes,
    ExecutionOutcomesRelay,
    ExecutionService,
    IterationRepository,
    IterationPageService,
    LoopCoordinator,
    LoopRunner,
  ],
  exports: [
    BatchService,
    ExecutionRepository,
    ExecutionFailureRepository,
    ExecutionRetentionRepository,
    ConcurrencyRepository,
    ExecutionLauncher,
    ExecutionOutcomes,
    ExecutionService,
    IterationRepository,
    LoopRunner,
  ],
})
export class ExecutionsModule {}
