import {
  IsBoolean,
  IsDefined,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
} from 'class-validator';
import { CompiledTemplate, compileTemplate, toText } from 'src/expressions/template';
import { type AmqpMessage, isAmqpRefusal } from 'src/steps/connections/amqp-connection';
import { connectionFailure, withDeadline } from 'src/steps/connections/connection-errors';
import { compileConnectionUrl, maskUrl, renderConnectionUrl } from 'src/steps/connections/connection-url';
import {
  connectionsOf,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  encodeBody,
  headerValues,
} from 'src/steps/step-support';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepFailure, StepHandler, StepRunContext } from 'src/steps/step-handler';

export class AmqpStepDto extends StepBaseDto {
  @IsIn(['amqp']) declare type: 'amqp';
  @IsString() @IsNotEmpty() @MaxLength(8192) url!: string;
  @IsOptional() @IsString() @MaxLength(1000) exchange?: string;
  @IsString() @MaxLength(1000) routingKey!: string;
  @IsDefined({ message: 'body is required' }) body!: unknown;
  @IsOptional() @IsObject() headers?: Record<string, unknown>;
  @IsOptional() @IsBoolean() persistent?: boolean;
}

export interface CompiledAmqp {
  url: CompiledTemplate;
  exchange: CompiledTemplate;
  routingKey: CompiledTemplate;
  body: CompiledTemplate;
  headers?: CompiledTemplate;
}

/** AMQP 0-9-1 short strings (exchange names, routing keys) hold at most 255 bytes. */
const SHORT_STRING_BYTES = 255;

/** The message a step would publish and the request its attempt records (URL credentials masked). */
async function renderAmqp(
  c: CompiledAmqp,
  def: AmqpStepDto,
  ctx: Pick<StepRunContext, 'input' | 'bindings' | 'deliveryId'>,
): Promise<{ url: URL; message: AmqpMessage; request: Record<string, unknown> }> {
  const url = await renderConnectionUrl(c.url, ctx.bindings, 'url', ['amqp:', 'amqps:']);
  const exchange = toText(await c.exchange.render(ctx.input, ctx.bindings));
  const routingKey = toText(await c.routingKey.render(ctx.input, ctx.bindings));
  const body = await c.body.render(ctx.input, ctx.bindings);
  const headers = headerValues(await c.headers?.render(ctx.input, ctx.bindings));
  const persistent = def.persistent ?? true;
  const request = { url: maskUrl(url), exchange, routingKey, headers, body, persistent };
  if (Buffer.byteLength(exchange) > SHORT_STRING_BYTES) {
    throw new StepFailure(`exchange is longer than ${SHORT_STRING_BYTES} bytes`, false, { request });
  }
  if (Buffer.byteLength(routingKey) > SHORT_STRING_BYTES) {
    throw new StepFailure(`routingKey is longer than ${SHORT_STRING_BYTES} bytes`, false, { request });
  }
  const { payload, contentType } = encodeBody(body);
  const message: AmqpMessage = {
    exchange,
    routingKey,
    content: payload,
    options: {
      persistent,
      contentType,
      headers,
      // The same on every attempt: a consumer can drop a message a retry published again.
      messageId: ctx.deliveryId,
      timestamp: Math.floor(Date.now() / 1000),
      appId: 'hookflow',
    },
  };
  return { url, message, request };
}

/** Publishes to RabbitMQ (AMQP 0-9-1) and waits for the broker's publisher confirm (API.md section 11). */
export const amqpStep: StepHandler<AmqpStepDto, CompiledAmqp> = {
  type: 'amqp',
  dto: AmqpStepDto,
  pure: false,
  defaultAttempts: 5,
  compile(def, path) {
    return {
      url: compileConnectionUrl(def.url, `${path}.url`),
      exchange: compileTemplate(def.exchange ?? '', `${path}.exchange`),
      routingKey: compileTemplate(def.routingKey, `${path}.routingKey`),
      body: compileTemplate(def.body, `${path}.body`),
      headers: def.headers === undefined ? undefined : compileTemplate(def.headers, `${path}.headers`),
    };
  },
  async run(c, def, ctx) {
    const { url, message, request } = await renderAmqp(c, def, ctx);
    const timeoutMs = def.timeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS;
    const pool = connectionsOf(ctx).amqp;
    try {
      await withDeadline(
        pool.use(url, timeoutMs, (conn) => conn.publish(message)),
        timeoutMs,
        'publishing to AMQP',
      );
    } catch (e) {
      throw connectionFailure(e, request, isAmqpRefusal);
    }
    return { kind: 'succeeded', output: { published: true }, request };
  },
  async preview(c, def, ctx) {
    return { request: (await renderAmqp(c, def, { ...ctx, deliveryId: '' })).request };
  },
};
