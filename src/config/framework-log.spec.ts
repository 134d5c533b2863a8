import { LoggerService } from '@nestjs/common';
import { withQuietFramework } from 'src/config/framework-log';

function recorder(): { logger: LoggerService; calls: Array<[string, unknown[]]> } {
  const calls: Array<[string, unknown[]]> = [];
  const at =
    (level: string) =>
    (...args: unknown[]): void => {
      calls.push([level, args]);
    };
  return {
    calls,
    logger: {
      log: at('log'),
      error: at('error'),
      warn: at('warn'),
      debug: at('debug'),
      verbose: at('verbose'),
      fatal: at('fatal'),
    },
  };
}

describe('withQuietFramework', () => {
  it("moves Nest's boot lines (modules loaded, routes mapped) down to debug", () => {
    const { logger, calls } = recorder();
    const quiet = withQuietFramework(logger);
    quiet.log('AppModule dependencies initialized', 'InstanceLoader');
    quiet.log('Mapped {/health, GET} route', 'RouterExplorer');
    quiet.log('HealthController {/}:', 'RoutesResolver');
    quiet.log('Starting Nest application...', 'NestFactory');
    quiet.log('Nest application successfully started', 'NestApplication');
    expect(calls.map(([level]) => level)).toEqual(['debug', 'debug', 'debug', 'debug', 'debug']);
    expect(calls[0][1]).toEqual(['AppModule dependencies initialized', 'InstanceLoader']);
  });

  it("keeps hookflow's own lines and every warning and error at their level", () => {
    const { logger, calls } = recorder();
    const quiet = withQuietFramework(logger);
    quiet.log({ threads: 1 }, 'worker threads running', 'WorkerThreads');
    quiet.log('no context');
    quiet.warn('slow', 'InstanceLoader');
    quiet.error('boom', 'stack', 'NestApplication');
    quiet.fatal?.('down', 'NestFactory');
    expect(calls).toEqual([
      ['log', [{ threads: 1 }, 'worker threads running', 'WorkerThreads']],
      ['log', ['no context']],
      ['warn', ['slow', 'InstanceLoader']],
      ['error', ['boom', 'stack', 'NestApplication']],
      ['fatal', ['down', 'NestFactory']],
    ]);
  });
});
