import { BullModule } from '@nestjs/bull';
import { Global, Module } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import { skipBullStacktraceParseError } from 'src/queue/bull-job-parse';
import { STEPS_QUEUE } from 'src/queue/queue.constants';
import { StepQueue } from 'src/queue/step-queue.service';

skipBullStacktraceParseError();

@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        url: config.values.REDIS_URL,
        prefix: config.values.QUEUE_PREFIX,
        redis: { maxRetriesPerRequest: null, enableReadyCheck: false },
        settings: {
          lockDuration: config.values.JOB_LOCK_MS,
          stalledInterval: Math.max(1000, Math.floor(config.values.JOB_LOCK_MS / 2)),
          maxStalledCount: 10,
        },
      }),
    }),
    BullModule.registerQueue({ name: STEPS_QUEUE }),
  ],
  providers: [StepQueue],
  // BullModule too: tests look the queue up by @nestjs/bull's token.
  exports: [BullModule, StepQueue],
})
export class QueueModule {}
