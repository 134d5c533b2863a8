import { All, Controller, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HookService, HookTarget } from 'src/triggers/hook.service';

/** Set on the request by the body reader (hook-ingress.ts), which looks the token up first. */
export type HookFastifyRequest = FastifyRequest & { hookTarget?: HookTarget | null };

@ApiExcludeController()
@Controller('hooks')
export class HookController {
  constructor(private readonly hooks: HookService) {}

  @All(':token')
  async receive(
    @Param('token') token: string,
    @Req() req: HookFastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const target = req.hookTarget !== undefined ? req.hookTarget : await this.hooks.lookup(token);
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const answer = await this.hooks.receive(token, target, {
      method: req.method,
      path: req.url.split('?')[0],
      headers: req.headers,
      query: { ...(req.query as Record<string, unknown>) },
      rawBody,
    });
    if (answer.headers) void reply.headers(answer.headers);
    await reply
      .code(answer.status)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(answer.body ?? null));
  }
}
