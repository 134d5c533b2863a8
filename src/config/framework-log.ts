import { LoggerService } from '@nestjs/common';

/**
 * Nest's own boot chatter: one line per module loaded and per route mapped (about 90 at boot). It
 * goes to `debug`, so that at the default `info` level boot ends on hookflow's own lines: the URL
 * and the bootstrap key (src/main.ts).
 */
const FRAMEWORK_CONTEXTS = new Set([
  'NestFactory',
  'NestApplication',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
]);

/** Nest passes the context as the last argument of a log call. */
function isFramework(params: unknown[]): boolean {
  const context = params[params.length - 1];
  return typeof context === 'string' && FRAMEWORK_CONTEXTS.has(context);
}

/** The app's logger, with Nest's `log`-level boot lines moved down to `debug`. */
export function withQuietFramework(logger: LoggerService): LoggerService {
  const debug = (message: unknown, ...params: unknown[]): void => {
    logger.debug?.(message, ...params);
  };
  return {
    log: (message: unknown, ...params: unknown[]): void => {
      if (isFramework(params)) debug(message, ...params);
      else logger.log(message, ...params);
    },
    error: (message: unknown, ...params: unknown[]): void => {
      logger.error(message, ...params);
    },
    warn: (message: unknown, ...params: unknown[]): void => {
      logger.warn(message, ...params);
    },
    debug,
    verbose: (message: unknown, ...params: unknown[]): void => {
      logger.verbose?.(message, ...params);
    },
    fatal: (message: unknown, ...params: unknown[]): void => {
      logger.fatal?.(message, ...params);
    },
  };
}
