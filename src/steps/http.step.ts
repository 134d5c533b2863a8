import { IsIn, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { classifyHttpStatus, parseRetryAfter } from 'src/steps/outbound/http-status';
import { CompiledTemplate, compileTemplate, compileUrlTemplate, toText } from 'src/expressions/template';
import { invalidHeader, OutboundError, OutboundResponse } from 'src/steps/outbound/http-client';
import { signatureHeaders } from 'src/steps/outbound/signing';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepFailure, StepHandler, StepRunContext } from 'src/steps/step-handler';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
/** Bodies kept in an attempt record (API.md section 5). */
export const RECORDED_BODY_BYTES = 64 * 1024;

export class HttpStepDto extends StepBaseDto {
  @IsIn(['http']) declare type: 'http';
  @IsIn(HTTP_METHODS) method!: (typeof HTTP_METHODS)[number];
  @IsString() @MaxLength(8192) url!: string;
  @IsOptional() @IsObject() headers?: Record<string, unknown>;
  @IsOptional() @IsObject() query?: Record<string, unknown>;
  @IsOptional() body?: unknown;
  /** Validated by the flow validator against the sign schemes. */
  @IsOptional() @IsObject() sign?: Record<string, unknown>;
}

export interface CompiledHttp {
  url: CompiledTemplate;
  headers?: CompiledTemplate;
  query?: CompiledTemplate;
  body?: CompiledTemplate;
  /** The `sign` block, rendered per attempt so `{{ $secrets.X }}` picks up the current secret. */
  sign?: CompiledTemplate;
}

export interface RenderedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
}

/** Renders the templates of an http step into the request it would send (also used by dry runs). */
export async function renderHttpRequest(
  c: CompiledHttp,
  def: HttpStepDto,
  ctx: Pick<StepRunContext, 'input' | 'bindings'>,
): Promise<{ request: RenderedRequest; payload?: Buffer }> {
  const url = new URL(toText(await c.url.render(ctx.input, ctx.bindings)));
  const query = (await c.query?.render(ctx.input, ctx.bindings)) as Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(query ?? {})) {
    for (const item of Array.isArray(v) ? v : [v])
      if (item !== undefined && item !== null) url.searchParams.append(k, toText(item));
  }
  const headers: Record<string, string> = {};
  const rendered = (await c.headers?.render(ctx.input, ctx.bindings)) as Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(rendered ?? {}))
    if (v !== undefined && v !== null) headers[k.toLowerCase()] = toText(v);
  const body = c.body ? await c.body.render(ctx.input, ctx.bindings) : undefined;
  let payload: Buffer | undefined;
  if (body !== undefined && def.method !== 'GET' && def.method !== 'HEAD') {
    if (typeof body === 'string') {
      payload = Buffer.from(body);
      headers['content-type'] ??= 'text/plain; charset=utf-8';
    } else {
      payload = Buffer.from(JSON.stringify(body));
      headers['content-type'] ??= 'application/json';
    }
  }
  headers['user-agent'] ??= 'hookflow';
  return { request: { method: def.method, url: url.toString(), headers, body }, payload };
}

export function parseBody(res: Pick<OutboundResponse, 'headers' | 'body'>): unknown {
  const text = res.body.toString('utf8');
  if (/[/+]json\b/i.test(res.headers['content-type'] ?? '')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** The answer as kept in an attempt record: body cut at 64 KiB. */
export function recordedResponse(res: OutboundResponse): Record<string, unknown> {
  const cut = res.body.length > RECORDED_BODY_BYTES || res.truncated;
  const body = cut ? res.body.subarray(0, RECORDED_BODY_BYTES).toString('utf8') : parseBody(res);
  return { status: res.status, headers: res.headers, body, ...(cut ? { truncated: true } : {}) };
}

/**
 * Sends one request through the guarded client, whatever the status. A connection error or timeout
 * becomes a retryable StepFailure, a target refused by the address guard a final one. `recorded` is
 * the request as the attempt record shows it (e.g. with an Authorization header masked).
 */
export async function transmit(
  ctx: StepRunContext,
  request: RenderedRequest,
  payload: Buffer | undefined,
  timeoutMs: number,
  recorded: unknown = request,
): Promise<OutboundResponse> {
  const invalid = invalidHeader(request.headers);
  if (invalid) throw new StepFailure(invalid, false, { request: recorded });
  try {
    return await ctx.services.http.send({
      method: request.method,
      url: new URL(request.url),
      headers: request.headers,
      body: payload,
      timeoutMs,
    });
  } catch (e) {
    if (e instanceof OutboundError) {
      // A target refused by policy stays refused: no retry.
      throw new StepFailure(e.message, e.code !== 'EADDRREFUSED_BY_POLICY', { request: recorded });
    }
    throw e;
  }
}

/** Sends one request; 2xx or a StepFailure classified for retry (API.md section 5). */
export async function sendRequest(
  ctx: StepRunContext,
  request: RenderedRequest,
  payload: Buffer | undefined,
  timeoutMs: number,
): Promise<{ res: OutboundResponse; response: Record<string, unknown> }> {
  const res = await transmit(ctx, request, payload, timeoutMs);
  const response = recordedResponse(res);
  const verdict = classifyHttpStatus(res.status);
  if (verdict === 'success') return { res, response };
  const why = res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : '';
  throw new StepFailure(`HTTP ${res.status}${why}`, verdict === 'retry', {
    request,
    response,
    retryAfterMs: parseRetryAfter(res.headers['retry-after']),
  });
}

/** Calls any HTTP endpoint; 2xx is success (API.md section 5). */
export const httpStep: StepHandler<HttpStepDto, CompiledHttp> = {
  type: 'http',
  dto: HttpStepDto,
  pure: false,
  defaultAttempts: 5,
  compile(def, path) {
    return {
      // Values spliced into the URL are percent-encoded (the rule: compileUrlTemplate).
      url: compileUrlTemplate(def.url, `${path}.url`),
      headers: def.headers === undefined ? undefined : compileTemplate(def.headers, `${path}.headers`),
      query: def.query === undefined ? undefined : compileTemplate(def.query, `${path}.query`),
      body: def.body === undefined ? undefined : compileTemplate(def.body, `${path}.body`),
      sign: def.sign === undefined ? undefined : compileTemplate(def.sign, `${path}.sign`),
    };
  },
  async target(c, _def, ctx) {
    return { url: new URL(toText(await c.url.render(ctx.input, ctx.bindings))) };
  },
  async run(c, def, ctx) {
    let rendered;
    try {
      rendered = await renderHttpRequest(c, def, ctx);
    } catch (e) {
      if (e instanceof TypeError) throw new StepFailure(`invalid URL: ${e.message}`, false);
      throw e;
    }
    const { request, payload } = rendered;
    if (c.sign) {
      // Signed over the exact bytes sent; a fresh timestamp per attempt, the same webhook-id on every one.
      const sign = await c.sign.render(ctx.input, ctx.bindings);
      try {
        Object.assign(request.headers, signatureHeaders(sign, payload ?? Buffer.alloc(0), ctx.deliveryId));
      } catch (e) {
        throw new StepFailure(`cannot sign the request: ${(e as Error).message}`, false, { request });
      }
    }
    const { res, response } = await sendRequest(
      ctx,
      request,
      payload,
      def.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS,
    );
    return {
      kind: 'succeeded',
      output: { status: res.status, headers: res.headers, body: parseBody(res) },
      request,
      response,
    };
  },
};
