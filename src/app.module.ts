import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from 'src/audit/audit.module';
import { AuthModule } from 'src/auth/auth.module';
import { BrokersModule } from 'src/brokers/brokers.module';
import { HttpErrorFilter } from 'src/common/http-error.filter';
import { createValidationPipe } from 'src/common/validation.pipe';
import { ConfigModule } from 'src/config/config.module';
import { Config, runsJobs, workerThreadCount } from 'src/config/env';
import { loggerOptions } from 'src/config/logger';
import { dataSourceOptions } from 'src/database/data-source';
import { DatabaseModule } from 'src/database/database.module';
import { DestinationsModule } from 'src/destinations/destinations.module';
import { EventsModule } from 'src/events/events.module';
import { ExecutionsModule } from 'src/executions/executions.module';
import { WorkerModule } from 'src/executions/worker.module';
import { FlowsModule } from 'src/flows/flows.module';
import { HealthModule } from 'src/health/health.module';
import { MetricsModule } from 'src/metrics/metrics.module';
import { OperationsModule } from 'src/operations/operations.module';
import { QueueModule } from 'src/queue/queue.module';
import { RunsModule } from 'src/runs/runs.module';
import { SchedulesModule } from 'src/schedules/schedules.module';
import { RetentionModule } from 'src/retention/retention.module';
import { WorkerThreadsModule } from 'src/runtime/worker-threads.module';
import { SecretsModule } from 'src/secrets/secrets.module';
import { TriggersModule } from 'src/triggers/triggers.module';

@Module({})
export class AppModule {
  /**
   * MODE decides what runs: `api` serves HTTP, `worker` runs jobs, `all` both — the jobs in
   * WORKER_THREADS threads of their own, or on this thread when that is 0.
   */
  static forRoot(config: Config): DynamicModule {
    const worker = runsJobs(config);
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerOptions(config)),
        TypeOrmModule.forRoot({
          ...dataSourceOptions(config.DATABASE_URL),
          retryAttempts: 2,
          retryDelay: 1000,
        }),
        DatabaseModule,
        QueueModule,
        AuditModule,
        MetricsModule,
        AuthModule,
        SecretsModule,
        FlowsModule,
        ExecutionsModule,
        TriggersModule,
        RunsModule,
        EventsModule,
        OperationsModule,
        DestinationsModule,
        SchedulesModule,
        HealthModule,
        ...(worker ? [WorkerModule, RetentionModule, BrokersModule] : []),
        ...(workerThreadCount(config) > 0 ? [WorkerThreadsModule] : []),
      ],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
