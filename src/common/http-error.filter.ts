import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300', // too_many_connections
]);

/** PostgreSQL (or its pool) cannot be reached right now: the caller should try again, not give up. */
export function isUnavailable(e: unknown): boolean {
  const err = e as { code?: string; driverError?: unknown; message?: string } | null;
  if (!err || typeof err !== 'object') return false;
  if (err.code && UNAVAILABLE_CODES.has(err.code)) return true;
  if (err.driverError && isUnavailable(err.driverError)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Connection is closed|the database system is/i.test(
    err.message ?? '',
  );
}

/** One error shape for every answer (API.md section 2); a stack trace never leaves the process. */
export function errorBody(exception: unknown): ErrorBody {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    if (typeof response === 'object' && response !== null) {
      const r = response as Partial<ErrorBody>;
      return {
        statusCode: status,
        error: r.error ?? defaultError(status),
        message: r.message ?? exception.message,
      };
    }
    return { statusCode: status, error: defaultError(status), message: String(response) };
  }
  const status = (exception as { statusCode?: number })?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { statusCode: status, error: defaultError(status), message: (exception as Error).message };
  }
  if (isUnavailable(exception))
    return { statusCode: 503, error: 'Service Unavailable', message: 'storage is unavailable; try again' };
  return { statusCode: 500, error: 'Internal Server Error', message: 'internal error' };
}

function defaultError(status: number): string {
  const name = HttpStatus[status];
  return name
    ? name
        .toLowerCase()
        .split('_')
        .map((w) => w[0].toUpperCase() + w.slice(1))
        .join(' ')
    : 'Error';
}

@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const body = errorBody(exception);
    if (body.statusCode === 503)
      this.logger.warn({ err: (exception as Error).message }, 'storage unavailable');
    else if (body.statusCode >= 500) this.logger.error({ err: exception }, 'unhandled error');
    void reply.code(body.statusCode).send(body);
  }
}
