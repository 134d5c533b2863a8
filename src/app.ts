import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger, PinoLogger } from 'nestjs-pino';
import { AppModule } from 'src/app.module';
import { Config } from 'src/config/env';
import { withQuietFramework } from 'src/config/framework-log';
import { registerRequestLog } from 'src/config/request-log';
import { registerConsole } from 'src/console/console-static';
import { MAX_BODY_CEILING } from 'src/flows/definitions/webhook-trigger.dto';
import { registerHttpMetrics } from 'src/metrics/http-metrics';
import { MetricsService } from 'src/metrics/metrics.service';
import { registerBodyReader } from 'src/triggers/hook-ingress';
import { HookService } from 'src/triggers/hook.service';

/** The HTTP app (MODE=api or all): used by main.ts and by the end-to-end tests alike. */
export async function createHttpApp(config: Config): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    new FastifyAdapter({ trustProxy: true, bodyLimit: MAX_BODY_CEILING, return503OnClosing: true }),
    // return503OnClosing here (Nest's) answers 503 from the start of shutdown, while attempts drain.
    { bufferLogs: true, bodyParser: false, abortOnError: false, return503OnClosing: true },
  );
  app.useLogger(withQuietFramework(app.get(Logger)));
  const fastify = app.getHttpAdapter().getInstance();
  registerRequestLog(fastify, PinoLogger.root);
  registerBodyReader(fastify, app.get(HookService));
  // Errors raised before a handler runs (body reading, token lookup) reach Nest's error handler and
  // so the global HttpErrorFilter: one shape, storage outages as 503.
  registerHttpMetrics(app.getHttpAdapter().getInstance(), app.get(MetricsService));
  registerConsole(fastify);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('hookflow')
      .setDescription('Management API of hookflow (docs/api.md). Trigger URLs live at /hooks/{token}.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  app.enableShutdownHooks([], { useProcessExit: true });
  await app.init();
  return app;
}

/**
 * A worker (MODE=worker, or a worker thread of MODE=all): queue consumers and the scheduler, no
 * HTTP. A thread gets no signals; its parent closes it (src/runtime/worker-threads.service.ts).
 */
export async function createWorkerContext(config: Config): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(withQuietFramework(app.get(Logger)));
  if (!config.workerThread) app.enableShutdownHooks([], { useProcessExit: true });
  await app.init();
  return app;
}
