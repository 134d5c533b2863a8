import { RequestMethod } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import { Config } from 'src/config/env';

/** Trigger tokens are credentials: logs show only their first characters. */
export function redactUrl(url: string | undefined): string {
  return (url ?? '').replace(/\/hooks\/([^/?]{4})[^/?]*/, '/hooks/$1…');
}

/** Structured JSON logs (pretty on a terminal in development), one line per request. */
export function loggerOptions(config: Config): Params {
  const pretty = config.NODE_ENV === 'development' && process.stdout.isTTY;
  return {
    // nestjs-pino's default route ('{/*splat}') matches nothing under Nest 12's Fastify adapter.
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    pinoHttp: {
      level: config.LOG_LEVEL,
      transport: pretty
        ? { target: 'pino-pretty', options: { singleLine: true, colorize: true } }
        : undefined,
      autoLogging: {
        // Nest's Fastify adapter rewrites req.url for middleware; originalUrl is the request's.
        ignore: (req: IncomingMessage & { originalUrl?: string }) =>
          /^\/(health|metrics)(\?|$)/.test(req.originalUrl ?? req.url ?? ''),
      },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: redactUrl(req.url),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      redact: { paths: ['req.headers', 'res.headers'], remove: true },
      quietReqLogger: true,
    },
  };
}
