import type { Params } from 'nestjs-pino';
import { Config } from 'src/config/env';

/** Trigger tokens are credentials: logs show only their first characters. */
export function redactUrl(url: string | undefined): string {
  return (url ?? '').replace(/\/hooks\/([^/?]{4})[^/?]*/, '/hooks/$1…');
}

/**
 * Structured JSON logs (pretty on a terminal in development). nestjs-pino carries Nest's logger over
 * to pino; its per-request middleware is applied to no route, since the request line comes from
 * src/config/request-log.ts.
 */
export function loggerOptions(config: Config): Params {
  const pretty = config.NODE_ENV === 'development' && process.stdout.isTTY;
  return {
    forRoutes: [],
    pinoHttp: {
      level: config.LOG_LEVEL,
      transport: pretty
        ? { target: 'pino-pretty', options: { singleLine: true, colorize: true } }
        : undefined,
    },
  };
}
