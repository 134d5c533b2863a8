import { BullModule, InjectQueue } from '@nestjs/bull';
import { Global, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bull';
import { AppConfig } from 'src/config/app-config';
import { skipBullStacktraceParseError } from 'src/queue/bull-job-parse';
import { STEPS_QUEUE } from 'src/queue/queue.constants';

skipBullStacktraceParseError();

/** Without an error listener a Redis outage would crash the process; log it and let ioredis reconnect. */
@Injectable()
class QueueErrorLogger implements OnModuleInit {
  private readonly logger = new Logger('Queue');
  private last = 0;

  constructor(@InjectQueue(STEPS_QUEUE) private readonly queue: Queue) {}

  onModuleInit(): void {
    this.queue.on('error', (e: Error) => {
      if (Date.now() - this.last < 5000) return;
      this.last = Date.now();
      this.logger.warn({ err: e.message }, 'queue connection error; retrying');
    });
  }
}

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
  providers: [QueueErrorLogger],
  exports: [BullModule],
})
export class QueueModule {}
