import Fastify, { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Writable } from 'node:stream';
import { registerRequestLog } from 'src/config/request-log';

async function appLogging(
  level: string,
): Promise<{ app: FastifyInstance; lines: Array<Record<string, any>> }> {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  const app = Fastify();
  // With pino's standard serializers, as nestjs-pino's root logger has them.
  registerRequestLog(app, pino({ level, serializers: pino.stdSerializers }, sink));
  app.post('/hooks/:token', async (_req, reply) => reply.code(202).send({ ok: true }));
  app.get('/boom', async (_req, reply) => reply.code(503).send({ error: 'down' }));
  app.get('/health', async () => ({ ok: true }));
  await app.ready();
  return { app, lines };
}

describe('registerRequestLog', () => {
  it('writes one line per request with the trigger token cut, and none for /health', async () => {
    const { app, lines } = await appLogging('info');
    const token = 'Xk3fSECRETSECRETSECRET';
    await app.inject({ method: 'POST', url: `/hooks/${token}?a=1`, payload: { a: 1 } });
    await app.inject({ method: 'GET', url: '/health' });
    await app.inject({ method: 'GET', url: '/boom' });
    await app.close();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      req: { method: 'POST', url: '/hooks/Xk3f…?a=1' },
      res: { statusCode: 202 },
      responseTime: expect.any(Number),
    });
    expect(lines[0].req.id).toBe(lines[0].reqId);
    expect(JSON.stringify(lines)).not.toContain('SECRET');
    expect(lines[1]).toMatchObject({ level: 50, msg: 'request errored', res: { statusCode: 503 } });
  });

  it('writes nothing below its level except server errors', async () => {
    const { app, lines } = await appLogging('warn');
    await app.inject({ method: 'POST', url: '/hooks/abcdef', payload: {} });
    await app.inject({ method: 'GET', url: '/boom' });
    await app.close();
    expect(lines.map((l) => l.res.statusCode)).toEqual([503]);
  });
});
