import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { availableParallelism } from 'node:os';
import { parseSize } from 'src/common/size';

export const MODES = ['api', 'worker', 'all'] as const;
export type Mode = (typeof MODES)[number];

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;

/**
 * A worker thread pays only where it gets a core of its own. On two cores, PostgreSQL, Redis and the
 * senders take the second one: there, one thread delivered ~10 % more at the default concurrency
 * (~14 % less at 64) in one heap instead of two, ~190 MB instead of ~285 (docs/performance.md,
 * "One thread on two cores").
 */
export function defaultWorkerThreads(cores: number): number {
  return cores > 2 ? 1 : 0;
}

/** Every setting hookflow reads from the environment (API.md section 1), validated once at boot. */
export class Env {
  @IsOptional() @IsIn(['development', 'production', 'test']) NODE_ENV: string = 'development';
  @Transform(toInt) @IsInt() @Min(0) @Max(65535) PORT: number = 3000;
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL: string = 'postgres://postgres@127.0.0.1:5432/hookflow';
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL: string = 'redis://127.0.0.1:6379';
  @Matches(/^[A-Za-z0-9_.-]+$/, { message: 'QUEUE_PREFIX may hold letters, digits, _ . and -' })
  QUEUE_PREFIX: string = 'hookflow';
  @IsIn(MODES) MODE: Mode = 'all';
  @IsOptional() @IsString() API_KEY?: string;
  @IsOptional() @IsString() SECRETS_KEY?: string;
  @IsOptional()
  @Matches(/^https?:\/\/[^\s]+$/, { message: 'PUBLIC_URL must be an http(s) URL' })
  PUBLIC_URL?: string;
  @IsString() OUTBOUND_ALLOW: string = '';
  @Matches(/^\s*\d+(\.\d+)?\s*([kmg]?b)?\s*$/i, {
    message: 'WEBHOOK_MAX_BODY must be bytes or a size like 256kb',
  })
  WEBHOOK_MAX_BODY: string = '1mb';
  @Transform(toInt) @IsInt() @Min(1) @Max(1000) WORKER_CONCURRENCY: number = 16;
  /**
   * MODE=all: threads that run jobs and the scheduler beside the API's thread, so accepting and
   * delivering each get an event loop (and a core). 0 runs everything on one thread.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(16) WORKER_THREADS: number =
    defaultWorkerThreads(availableParallelism());
  @Matches(/^https?:\/\//, { message: 'SLACK_API_URL must be an http(s) URL' })
  SLACK_API_URL: string = 'https://slack.com/api';
  @Transform(toInt) @IsInt() @Min(1) EXECUTION_RETENTION_DAYS: number = 30;
  @IsIn(['true', 'false']) MIGRATE_ON_BOOT: string = 'true';
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) LOG_LEVEL: string = 'info';
  /** How often the reconciler looks for committed work that has no job (ms). */
  @Transform(toInt) @IsInt() @Min(100) RECONCILE_INTERVAL_MS: number = 5000;
  /** Work idle for longer than this is checked against Redis by the reconciler (ms). */
  @Transform(toInt) @IsInt() @Min(0) RECONCILE_AFTER_MS: number = 5000;
  /** Bull stall detection: a job whose worker died is run again after about this long (ms). */
  @Transform(toInt) @IsInt() @Min(1000) JOB_LOCK_MS: number = 15000;
  /** A schedule fire missed (every worker down) by more than this is skipped and logged, not run (ms). */
  @Transform(toInt) @IsInt() @Min(1000) SCHEDULE_MISSED_WINDOW_MS: number = 300_000;
  /** On SIGTERM, how long running step attempts may take to finish before the process exits (ms). */
  @Transform(toInt) @IsInt() @Min(0) SHUTDOWN_GRACE_MS: number = 25000;
  /** How often a worker prunes executions older than EXECUTION_RETENTION_DAYS (ms). */
  @Transform(toInt) @IsInt() @Min(1000) RETENTION_INTERVAL_MS: number = 3_600_000;
  /** MODE=worker has no API; when set, it serves /metrics and /health on this port. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535) METRICS_PORT?: number;
  /** Bulk operations (API.md §12) act on this many executions per batch… */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000) OPERATION_BATCH_SIZE: number = 50;
  /** …and rest this long between batches, so live traffic keeps its latency (ms). */
  @Transform(toInt) @IsInt() @Min(0) OPERATION_PAUSE_MS: number = 100;
}

export type Config = Env & {
  webhookMaxBodyBytes: number;
  publicUrl: string;
  production: boolean;
  /** Set in a MODE=all process's worker threads (src/worker-thread.ts). */
  workerThread?: boolean;
};

/** Whether this process (or thread) runs queue consumers, the scheduler and retention. */
export function runsJobs(config: Config): boolean {
  return config.MODE === 'worker' || (config.MODE === 'all' && config.WORKER_THREADS === 0);
}

/** How many worker threads this process starts beside its HTTP server. */
export function workerThreadCount(config: Config): number {
  return config.MODE === 'all' ? config.WORKER_THREADS : 0;
}

/** Validates process.env; throws an Error whose message is one line per bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const env = plainToInstance(Env, present, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, skipMissingProperties: false });
  if (errors.length > 0) {
    const lines = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {})[0] ?? 'invalid'}`);
    throw new Error(`invalid configuration: ${lines.join('; ')}`);
  }
  const production = env.NODE_ENV === 'production';
  if (production && !env.API_KEY)
    throw new Error('invalid configuration: API_KEY is required when NODE_ENV=production');
  if (production && !env.SECRETS_KEY)
    throw new Error('invalid configuration: SECRETS_KEY is required when NODE_ENV=production');
  return {
    ...env,
    production,
    webhookMaxBodyBytes: parseSize(env.WEBHOOK_MAX_BODY),
    publicUrl: (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
  };
}
