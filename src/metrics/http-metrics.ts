import type { FastifyInstance } from 'fastify';
import { MetricsService } from 'src/metrics/metrics.service';

/** Counts every answer by route pattern; requests that matched no route share one label. */
export function registerHttpMetrics(fastify: FastifyInstance, metrics: MetricsService): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.httpRequest(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
}
