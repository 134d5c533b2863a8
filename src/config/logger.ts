import type { Params } from 'nestjs-pino';
import { Config } from 'src/config/env';
import { maskKnownSecrets } from 'src/secrets/secret-registry';

/** Trigger tokens are credentials: logs show only their first characters. */
export function redactUrl(url: string | undefined): string {
  return (url ?? '').replace(/\/hooks\/([^/?]{4})[^/?]*/, '/hooks/$1…');
}

/**
 * Structured JSON logs (pretty on a terminal in development). nestjs-pino carries Nest's logger over
 * to pino; its per-request middleware is applied to no route, since the request line comes from
 * src/config/request-log.ts. Every line passes maskKnownSecrets before it is written: the last line
 * of defence for a secret value inside text nobody masked (e.g. a PostgreSQL error quoting a row).
 */
export function loggerOptions(config: Config): Params {
  const pretty = config.NODE_ENV === 'development' && process.stdout.isTTY;
  return {
    forRoutes: [],
    pinoHttp: {
      level: config.LOG_LEVEL,
      hooks: { streamWrite: maskKnownSecrets },
      transport: pretty
        ? { target: 'pino-pretty', options: { singleLine: true, colorize: true } }
        : undefined,
    },
  };
}
