import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, timingSafeEqual } from 'node:crypto';
import { IsNull, Repository } from 'typeorm';
import { ApiKeyEntity } from 'src/auth/api-key.entity';
import { AppConfig } from 'src/config/app-config';

export const BOOTSTRAP_ACTOR = 'bootstrap';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

interface AuthedRequest {
  headers: Record<string, string | string[] | undefined>;
  actor?: string;
}

/** Bearer API key on every /api/v1 route: the bootstrap API_KEY or a key made with POST /api-keys. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly bootstrapHash: Buffer;

  constructor(
    config: AppConfig,
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
  ) {
    this.bootstrapHash = Buffer.from(hashKey(config.values.API_KEY ?? ''), 'hex');
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new UnauthorizedException('missing bearer API key');
    const hash = hashKey(match[1]);
    if (timingSafeEqual(Buffer.from(hash, 'hex'), this.bootstrapHash)) {
      req.actor = BOOTSTRAP_ACTOR;
      return true;
    }
    const key = await this.keys.findOne({
      where: { keyHash: hash, revokedAt: IsNull() },
      select: { name: true },
    });
    if (!key) throw new UnauthorizedException('invalid API key');
    req.actor = key.name;
    return true;
  }
}

/** The name of the API key behind the request, for the audit log. */
export const Actor = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  return ctx.switchToHttp().getRequest<AuthedRequest>().actor ?? 'unknown';
});
