import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength, ValidateBy, ValidateIf } from 'class-validator';
import { classifyHttpStatus, parseRetryAfter } from 'src/steps/outbound/http-status';
import { CompiledTemplate, compileTemplate, compileUrlTemplate, toText } from 'src/expressions/template';
import {
  DEFAULT_HTTP_TIMEOUT_MS,
  parseBody,
  recordedResponse,
  RenderedRequest,
  transmit,
} from 'src/steps/http.step';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepFailure, StepHandler, StepRunContext } from 'src/steps/step-handler';

/** `blocks` is an array of Block Kit objects, or a template that renders to one. */
function IsBlocks(): PropertyDecorator {
  return ValidateBy({
    name: 'isBlocks',
    validator: {
      validate: (v: unknown) => typeof v === 'string' || (Array.isArray(v) && v.length <= 50),
      defaultMessage: () => 'blocks must be an array of at most 50 blocks or a {{ }} template',
    },
  });
}

/** Incoming webhook and Web API targets exclude each other. */
function NotWith(others: string[]): PropertyDecorator {
  return ValidateBy({
    name: 'notWith',
    validator: {
      validate: (_v: unknown, args) =>
        others.every((k) => (args?.object as Record<string, unknown>)[k] === undefined),
      defaultMessage: (args) => `${args?.property} cannot be combined with ${others.join(' or ')}`,
    },
  });
}

type Target = Partial<Pick<SlackStepDto, 'webhookUrl' | 'token' | 'channel' | 'text' | 'blocks'>>;

export class SlackStepDto extends StepBaseDto {
  @IsIn(['slack']) declare type: 'slack';

  @ValidateIf((o: Target) => o.webhookUrl !== undefined || (o.token === undefined && o.channel === undefined))
  @IsString({ message: 'webhookUrl must be a string (or give token and channel)' })
  @IsNotEmpty()
  @MaxLength(8192)
  @NotWith(['token', 'channel'])
  webhookUrl?: string;

  @ValidateIf((o: Target) => o.token !== undefined || o.channel !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(8192)
  token?: string;

  @ValidateIf((o: Target) => o.token !== undefined || o.channel !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  channel?: string;

  @ValidateIf((o: Target) => o.text !== undefined || o.blocks === undefined)
  @IsString({ message: 'text must be a string (text or blocks is required)' })
  @MaxLength(40_000)
  text?: string;

  @IsOptional() @IsBlocks() blocks?: unknown[] | string;
}

export interface CompiledSlack {
  webhookUrl?: CompiledTemplate;
  token?: CompiledTemplate;
  channel?: CompiledTemplate;
  text?: CompiledTemplate;
  blocks?: CompiledTemplate;
}

/** Error codes worth another try; every other `ok: false` is final (invalid_auth, channel_not_found...). */
export const RETRYABLE_SLACK_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

export type SlackVerdict =
  | { ok: true; output: { ok: true; ts?: string; channel?: string } }
  | { ok: false; error: string; retryable: boolean; retryAfterMs?: number };

/** Slack's error code from an answer: `{"error": "..."}` (Web API) or a bare code (incoming webhooks). */
function slackErrorCode(body: unknown): string | undefined {
  if (body !== null && typeof body === 'object') {
    const error = (body as Record<string, unknown>).error;
    return typeof error === 'string' ? error : undefined;
  }
  if (typeof body === 'string' && /^[a-z][a-z0-9_]{0,80}$/.test(body.trim())) return body.trim();
  return undefined;
}

/**
 * Reads one Slack answer. Web API: HTTP 200 with `ok: true`, else `ok: false` with an error code.
 * Incoming webhooks: 200 `ok` as text, errors as 4xx with the code as text. 429 is retried after
 * `Retry-After`, as are the transient codes above; everything else fails at once, naming Slack's code.
 */
export function classifySlackAnswer(
  mode: 'webhook' | 'api',
  status: number,
  headers: Record<string, string>,
  body: unknown,
  now: number = Date.now(),
): SlackVerdict {
  const retryAfterMs = parseRetryAfter(headers['retry-after'], now);
  const code = slackErrorCode(body);
  const verdict = classifyHttpStatus(status);
  if (verdict !== 'success') {
    const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
    return {
      ok: false,
      // "HTTP 429" first: the runner keeps a floor on the back-off after a 429.
      error: `HTTP ${status}${code ? `: ${code}` : ''}${redirect}`,
      retryable: verdict === 'retry' || (code !== undefined && RETRYABLE_SLACK_ERRORS.has(code)),
      retryAfterMs,
    };
  }
  const obj = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : undefined;
  if (obj?.ok === false || (mode === 'api' && obj?.ok !== true)) {
    const reason = code ?? (obj ? 'ok is not true' : 'the answer is not JSON');
    return {
      ok: false,
      error: `Slack error: ${reason}`,
      retryable: code !== undefined && RETRYABLE_SLACK_ERRORS.has(code),
      retryAfterMs,
    };
  }
  if (mode === 'webhook') return { ok: true, output: { ok: true } };
  return {
    ok: true,
    output: {
      ok: true,
      ...(typeof obj?.ts === 'string' ? { ts: obj.ts } : {}),
      ...(typeof obj?.channel === 'string' ? { channel: obj.channel } : {}),
    },
  };
}

interface SlackRequest {
  mode: 'webhook' | 'api';
  request: RenderedRequest;
  /** What the attempt record shows: the Authorization header masked. */
  recorded: RenderedRequest;
  payload: Buffer;
}

/** Renders the message and its target; also used by dry runs. Throws a final StepFailure on bad input. */
export async function renderSlackRequest(
  c: CompiledSlack,
  ctx: Pick<StepRunContext, 'input' | 'bindings'>,
  slackApiUrl: string,
): Promise<SlackRequest> {
  const render = async (t?: CompiledTemplate): Promise<unknown> =>
    t ? t.render(ctx.input, ctx.bindings) : undefined;
  let message: Record<string, unknown> = {};
  const text = await render(c.text);
  if (c.text) message.text = toText(text);
  const blocks = await render(c.blocks);
  if (blocks !== undefined && blocks !== null) {
    if (!Array.isArray(blocks)) throw new StepFailure('blocks must render to an array', false);
    message.blocks = blocks;
  }
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'hookflow',
  };
  let mode: SlackRequest['mode'];
  let url: string;
  if (c.webhookUrl) {
    mode = 'webhook';
    url = toText(await render(c.webhookUrl));
  } else {
    mode = 'api';
    url = `${slackApiUrl.replace(/\/+$/, '')}/chat.postMessage`;
    const channel = toText(await render(c.channel));
    const token = toText(await render(c.token));
    if (channel === '' || token === '') {
      throw new StepFailure(`${channel === '' ? 'channel' : 'token'} is empty once rendered`, false);
    }
    message = { channel, ...message };
    headers.authorization = `Bearer ${token}`;
  }
  try {
    url = new URL(url).toString();
  } catch {
    // The webhook URL is usually a secret: do not echo it.
    throw new StepFailure(`${mode === 'webhook' ? 'webhookUrl' : 'SLACK_API_URL'} is not a valid URL`, false);
  }
  const request: RenderedRequest = { method: 'POST', url, headers, body: message };
  const recorded: RenderedRequest = {
    ...request,
    headers: headers.authorization ? { ...headers, authorization: 'Bearer ***' } : headers,
  };
  return { mode, request, recorded, payload: Buffer.from(JSON.stringify(message)) };
}

/** Posts to Slack: an incoming webhook, or `chat.postMessage` with a bot token (API.md section 3). */
export const slackStep: StepHandler<SlackStepDto, CompiledSlack> = {
  type: 'slack',
  dto: SlackStepDto,
  pure: false,
  paced: true,
  defaultAttempts: 5,
  compile(def, path) {
    const t = (v: unknown, field: string): CompiledTemplate | undefined =>
      v === undefined ? undefined : compileTemplate(v, `${path}.${field}`);
    return {
      // Values spliced into the URL are percent-encoded (the rule: compileUrlTemplate).
      webhookUrl:
        def.webhookUrl === undefined ? undefined : compileUrlTemplate(def.webhookUrl, `${path}.webhookUrl`),
      token: t(def.token, 'token'),
      channel: t(def.channel, 'channel'),
      text: t(def.text, 'text'),
      blocks: t(def.blocks, 'blocks'),
    };
  },
  async target(c, _def, ctx) {
    // Paced per incoming webhook URL, or per channel of the Web API.
    if (c.webhookUrl) {
      const url = toText(await c.webhookUrl.render(ctx.input, ctx.bindings));
      return { url: new URL(url), pace: url };
    }
    const channel = toText(await c.channel?.render(ctx.input, ctx.bindings));
    return { url: new URL(ctx.services.slackApiUrl), pace: `channel:${ctx.services.slackApiUrl}:${channel}` };
  },
  async run(c, def, ctx) {
    const { mode, request, recorded, payload } = await renderSlackRequest(c, ctx, ctx.services.slackApiUrl);
    const timeoutMs = def.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
    const res = await transmit(ctx, request, payload, timeoutMs, recorded);
    const response = recordedResponse(res);
    const verdict = classifySlackAnswer(mode, res.status, res.headers, parseBody(res));
    if (!verdict.ok) {
      throw new StepFailure(verdict.error, verdict.retryable, {
        request: recorded,
        response,
        retryAfterMs: verdict.retryAfterMs,
      });
    }
    return { kind: 'succeeded', output: verdict.output, request: recorded, response };
  },
  async preview(c, _def, ctx) {
    return { request: (await renderSlackRequest(c, ctx, ctx.services.slackApiUrl)).recorded };
  },
};
