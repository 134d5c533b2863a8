import 'reflect-metadata';
import Redis from 'ioredis';
import { PinoLogger } from 'nestjs-pino';
import { Client } from 'pg';
import { createHttpApp, createWorkerContext } from 'src/app';
import { withDevelopmentKeys } from 'src/config/app-config';
import { Config, loadConfig } from 'src/config/env';
import { ensureDatabase, migrate } from 'src/database/database-bootstrap';
import { tuneGarbageCollector } from 'src/runtime/process-tuning';
import { logUnhandledRejections } from 'src/runtime/unhandled-rejections';

function die(line: string): never {
  process.stderr.write(`hookflow: ${line}\n`);
  process.exit(1);
}

function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Both servers must answer before anything else starts: one clear line, not a stack trace wall. */
async function preflight(config: Config): Promise<void> {
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    die(
      `cannot reach Redis at ${safeUrl(config.REDIS_URL)} (${(e as Error).message}); start Redis or set REDIS_URL`,
    );
  } finally {
    redis.disconnect();
  }
  try {
    await ensureDatabase(config.DATABASE_URL);
  } catch (e) {
    die(
      `cannot reach PostgreSQL at ${safeUrl(config.DATABASE_URL)} (${(e as Error).message}); start PostgreSQL or set DATABASE_URL`,
    );
  }
  const pg = new Client({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await pg.connect();
  } catch (e) {
    die(
      `cannot reach PostgreSQL at ${safeUrl(config.DATABASE_URL)} (${(e as Error).message}); start PostgreSQL or set DATABASE_URL`,
    );
  } finally {
    await pg.end().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  let config;
  try {
    config = withDevelopmentKeys(loadConfig());
  } catch (e) {
    die((e as Error).message);
  }
  await preflight(config);
  if (config.MIGRATE_ON_BOOT === 'true') {
    await migrate(config.DATABASE_URL, (m) => process.stdout.write(`hookflow: ${m}\n`));
  }
  const ready: string[] = [];
  if (config.MODE === 'worker') {
    await createWorkerContext(config);
    ready.push(
      config.METRICS_PORT === undefined
        ? 'worker started (MODE=worker)'
        : `worker started (MODE=worker); /metrics and /health on port ${config.METRICS_PORT}`,
    );
  } else {
    const app = await createHttpApp(config);
    await app.listen(config.PORT, '0.0.0.0');
    const url = config.publicUrl;
    ready.push(
      `listening on port ${config.PORT} (MODE=${config.MODE}): console ${url}/ · API ${url}/api/v1 · OpenAPI ${url}/docs`,
    );
  }
  // SIGTERM: Nest's hooks stop intake and let running attempts finish (SHUTDOWN_GRACE_MS); this is
  // the last resort should a hook hang on a dead connection.
  const hardLimitMs = config.SHUTDOWN_GRACE_MS + 10_000;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      process.stdout.write(`hookflow: ${signal}: stopping intake, finishing running work\n`);
      setTimeout(
        () => die(`shutdown took longer than ${hardLimitMs} ms; exiting anyway`),
        hardLimitMs,
      ).unref();
    });
  }
  if (config.generatedApiKey) {
    ready.push(`no API_KEY set; this run's bootstrap key is ${config.API_KEY} (set API_KEY to keep one)`);
  }
  await announce(ready);
}

/**
 * The last thing boot says: where to go and, without API_KEY, the key. Written after the log lines
 * still buffered (pino writes asynchronously), so that nothing lands after it.
 */
async function announce(lines: string[]): Promise<void> {
  // `root` is unset when no Nest app was made (it is typed as always set).
  const root = PinoLogger.root as PinoLogger['logger'] | undefined;
  await new Promise<void>((resolve) => (root ? root.flush(() => resolve()) : resolve()));
  await new Promise((resolve) => setImmediate(resolve));
  process.stdout.write(lines.map((line) => `hookflow: ${line}\n`).join(''));
}

tuneGarbageCollector();
logUnhandledRejections();

main().catch((e: unknown) => die((e as Error)?.message ?? String(e)));
