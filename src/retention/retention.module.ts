import { Module } from '@nestjs/common';
import { RetentionService } from 'src/retention/retention.service';

/** Pruning of old executions (MODE=worker or all). */
@Module({ providers: [RetentionService], exports: [RetentionService] })
export class RetentionModule {}
