import { Module } from '@nestjs/common';
import { ExecutionsModule } from 'src/executions/executions.module';
import { RetentionService } from 'src/retention/retention.service';

/** Pruning of old executions (MODE=worker or all); its statements are ExecutionRetentionRepository's. */
@Module({ imports: [ExecutionsModule], providers: [RetentionService], exports: [RetentionService] })
export class RetentionModule {}
