import { Controller, Get, Header, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { MetricsService } from 'src/metrics/metrics.service';
import { StepQueue } from 'src/queue/step-queue.service';

@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicator: HealthIndicatorService,
    private readonly metrics: MetricsService,
    private readonly queue: StepQueue,
  ) {}

  /** 200 when PostgreSQL and Redis answer, else 503 with terminus' report (not the API error shape). */
  @Get('health')
  @HealthCheck()
  async check(@Res({ passthrough: true }) reply: FastifyReply) {
    try {
      return await this.checkAll();
    } catch (e) {
      if (!(e instanceof ServiceUnavailableException)) throw e;
      void reply.code(503);
      return e.getResponse();
    }
  }

  private checkAll() {
    return this.health.check([
      () => this.db.pingCheck('postgres', { timeout: 2000 }),
      async () => {
        const redis = this.indicator.check('redis');
        try {
          const pong = await Promise.race([
            this.queue.ping(),
            new Promise<string>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
          ]);
          return pong === 'PONG' ? redis.up() : redis.down({ message: pong });
        } catch (e) {
          return redis.down({ message: (e as Error).message });
        }
      },
    ]);
  }

  @Get('metrics')
  @ApiExcludeEndpoint()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async prometheus(): Promise<string> {
    return this.metrics.render();
  }
}
