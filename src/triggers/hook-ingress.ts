import { PayloadTooLargeException, UnsupportedMediaTypeException, BadRequestException } from '@nestjs/common';
import {
  jsonNestsDeeperThan,
  mayHoldSurrogateEscape,
  MAX_JSON_DEPTH,
  unstorableReason,
} from 'src/common/jsonb';
import { mayHoldReservedKey, reservedKeyErrors } from 'src/common/validate-shape';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { HookService } from 'src/triggers/hook.service';
import type { HookFastifyRequest } from 'src/triggers/hook.controller';

/** Largest JSON body the management API takes. */
export const API_MAX_BODY = 2 * 1024 * 1024;

function readLimited(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stream.removeAllListeners('data');
        stream.resume();
        reject(new PayloadTooLargeException(`body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function declaredLength(req: FastifyRequest): number {
  const n = Number(req.headers['content-length']);
  return Number.isFinite(n) ? n : 0;
}

/**
 * One body reader for every route. Trigger URLs keep the raw bytes (signatures are computed over
 * them) under the flow's own `maxBody`, looked up before a byte is read; the management API takes
 * JSON only.
 */
export function registerBodyReader(fastify: FastifyInstance, hooks: HookService): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', async (request: FastifyRequest, payload: Readable) => {
    if (request.routeOptions.url === '/hooks/:token') {
      const req = request as HookFastifyRequest;
      const token = (request.params as { token?: string }).token ?? '';
      let target = await hooks.lookup(token);
      // A remembered limit may be stale: refuse for size only by the flow as it is now.
      if (target?.remembered && declaredLength(request) > target.maxBody) target = await hooks.refresh(token);
      req.hookTarget = target;
      if (!req.hookTarget) return Buffer.alloc(0);
      const limit = req.hookTarget.maxBody;
      if (declaredLength(request) > limit)
        throw new PayloadTooLargeException(`body is larger than ${limit} bytes`);
      return readLimited(payload, limit);
    }
    if (declaredLength(request) > API_MAX_BODY)
      throw new PayloadTooLargeException(`body is larger than ${API_MAX_BODY} bytes`);
    const raw = await readLimited(payload, API_MAX_BODY);
    if (raw.length === 0) return undefined;
    const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json' && !type.endsWith('+json')) {
      throw new UnsupportedMediaTypeException('the API takes application/json');
    }
    const text = raw.toString('utf8');
    // PostgreSQL cannot store NUL in text or jsonb: refuse it here rather than fail later.
    if (text.includes('\\u0000') || text.includes('\u0000'))
      throw new BadRequestException('NUL characters are not allowed');
    if (jsonNestsDeeperThan(text))
      throw new BadRequestException(`JSON body nests deeper than ${MAX_JSON_DEPTH} levels`);
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch (e) {
      throw new BadRequestException(`malformed JSON body: ${(e as Error).message}`);
    }
    // What PostgreSQL cannot store is refused here, naming the field, before any handler or batch.
    const unstorable = mayHoldSurrogateEscape(text) ? unstorableReason(body) : undefined;
    if (unstorable) throw new BadRequestException(unstorable);
    const reserved = mayHoldReservedKey(text) ? reservedKeyErrors(body) : [];
    if (reserved.length > 0) throw new BadRequestException(reserved);
    return body;
  });
}
