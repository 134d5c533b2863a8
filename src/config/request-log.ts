import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { redactUrl } from 'src/config/logger';

const UNLOGGED = /^\/(health|metrics)(\?|$)/;

/**
 * One JSON line per answered request, from a Fastify hook rather than pino-http: pino-http builds a
 * child logger per request and nestjs-pino's request context keeps AsyncLocalStorage (a hook on every
 * promise) switched on — together ~13 % of the API thread's time on the accept path, even at
 * LOG_LEVEL=warn where the line is not written. Here nothing is built unless the line is written.
 */
export function registerRequestLog(fastify: FastifyInstance, root: Logger): void {
  // The root logger may carry pino-http's serializers, which expect node's req and res objects.
  const asIs = (v: unknown): unknown => v;
  const logger = root.child({}, { serializers: { req: asIs, res: asIs } });
  fastify.addHook('onResponse', (request, reply, done) => {
    const failed = reply.statusCode >= 500;
    if (logger.isLevelEnabled(failed ? 'error' : 'info') && !UNLOGGED.test(request.raw.url ?? '')) {
      const line = {
        reqId: request.id,
        req: { id: request.id, method: request.method, url: redactUrl(request.raw.url) },
        res: { statusCode: reply.statusCode },
        responseTime: Math.round(reply.elapsedTime),
      };
      if (failed) logger.error(line, 'request errored');
      else logger.info(line, 'request completed');
    }
    done();
  });
}
