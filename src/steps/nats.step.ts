import { IsDefined, IsIn, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { CompiledTemplate, compileTemplate } from 'src/expressions/template';
import { connectionFailure, withDeadline } from 'src/steps/connections/connection-errors';
import { compileConnectionUrl, maskUrl, renderConnectionUrl } from 'src/steps/connections/connection-url';
import { isNatsRefusal, type NatsMessage } from 'src/steps/connections/nats-connection';
import {
  connectionsOf,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  encodeBody,
  headerValues,
  renderedName,
} from 'src/steps/step-support';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepFailure, StepHandler, StepRunContext } from 'src/steps/step-handler';

export class NatsStepDto extends StepBaseDto {
  @IsIn(['nats']) declare type: 'nats';
  @IsString() @IsNotEmpty() @MaxLength(8192) url!: string;
  @IsString() @IsNotEmpty() @MaxLength(4096) subject!: string;
  @IsDefined({ message: 'body is required' }) body!: unknown;
  @IsOptional() @IsObject() headers?: Record<string, unknown>;
}

export interface CompiledNats {
  url: CompiledTemplate;
  subject: CompiledTemplate;
  body: CompiledTemplate;
  headers?: CompiledTemplate;
}

const MAX_SUBJECT_BYTES = 4096;

async function renderNats(
  c: CompiledNats,
  def: NatsStepDto,
  ctx: Pick<StepRunContext, 'input' | 'bindings' | 'deliveryId'>,
): Promise<{ url: URL; message: NatsMessage; request: Record<string, unknown> }> {
  const url = await renderConnectionUrl(c.url, ctx.bindings, 'url', ['nats:']);
  const subject = renderedName(await c.subject.render(ctx.input, ctx.bindings), 'subject', MAX_SUBJECT_BYTES);
  const body = await c.body.render(ctx.input, ctx.bindings);
  const headers = headerValues(await c.headers?.render(ctx.input, ctx.bindings));
  const request = { url: maskUrl(url), subject, headers, body };
  // A published subject is whole tokens without wildcards (`*`, `>`) or white space.
  if (/\s/.test(subject) || subject.split('.').some((t) => t === '' || t === '*' || t === '>')) {
    throw new StepFailure(`subject "${subject}" is not a NATS subject to publish to`, false, { request });
  }
  const message: NatsMessage = {
    subject,
    payload: encodeBody(body).payload,
    headers,
    msgId: ctx.deliveryId,
    timeoutMs: def.timeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
  };
  return { url, message, request };
}

/**
 * Publishes to NATS: through JetStream, acknowledged, when a stream covers the subject (`{stream,
 * seq}`), else core NATS (`{published: true}`) (API.md section 11).
 */
export const natsStep: StepHandler<NatsStepDto, CompiledNats> = {
  type: 'nats',
  dto: NatsStepDto,
  pure: false,
  defaultAttempts: 5,
  compile(def, path) {
    return {
      url: compileConnectionUrl(def.url, `${path}.url`),
      subject: compileTemplate(def.subject, `${path}.subject`),
      body: compileTemplate(def.body, `${path}.body`),
      headers: def.headers === undefined ? undefined : compileTemplate(def.headers, `${path}.headers`),
    };
  },
  async run(c, def, ctx) {
    const { url, message, request } = await renderNats(c, def, ctx);
    const pool = connectionsOf(ctx).nats;
    let output;
    try {
      output = await withDeadline(
        pool.use(url, message.timeoutMs, (conn) => conn.publish(message)),
        message.timeoutMs,
        'publishing to NATS',
      );
    } catch (e) {
      throw connectionFailure(e, request, isNatsRefusal);
    }
    return { kind: 'succeeded', output, request };
  },
  async preview(c, def, ctx) {
    return { request: (await renderNats(c, def, { ...ctx, deliveryId: '' })).request };
  },
};
