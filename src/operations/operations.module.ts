import { Module } from '@nestjs/common';
import { ExecutionsModule } from 'src/executions/executions.module';
import { OperationController } from 'src/operations/operation.controller';
import { OperationRepository } from 'src/operations/operation.repository';
import { OperationRunner } from 'src/operations/operation-runner.service';
import { OperationService } from 'src/operations/operation.service';

/**
 * Bulk retry, replay and cancel (API.md §12): the routes in every MODE; the runner works only in
 * processes that run jobs (it checks at boot, as the scheduler does).
 */
@Module({
  imports: [ExecutionsModule],
  controllers: [OperationController],
  providers: [OperationRepository, OperationService, OperationRunner],
})
export class OperationsModule {}
