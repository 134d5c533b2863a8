import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength, ValidateBy } from 'class-validator';
import { CompiledTemplate, compileTemplate, toText } from 'src/expressions/template';
import { connectionFailure, withDeadline } from 'src/steps/connections/connection-errors';
import { compileConnectionUrl, maskUrl, renderConnectionUrl } from 'src/steps/connections/connection-url';
import { isSmtpRefusal, type MailMessage } from 'src/steps/connections/smtp-connection';
import { connectionsOf, DEFAULT_CONNECTION_TIMEOUT_MS } from 'src/steps/step-support';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepFailure, StepHandler, StepRunContext } from 'src/steps/step-handler';

const MAX_RECIPIENTS = 100;

/** Recipients: one text (a template, or addresses separated by commas) or an array of them. */
function IsRecipients(): PropertyDecorator {
  return ValidateBy({
    name: 'isRecipients',
    validator: {
      validate: (v: unknown) =>
        (typeof v === 'string' && v.length <= 10_000) ||
        (Array.isArray(v) && v.length <= MAX_RECIPIENTS && v.every((a) => typeof a === 'string')),
      defaultMessage: (args) =>
        `${args?.property} must be an address, a {{ }} template or an array of at most ${MAX_RECIPIENTS} of them`,
    },
  });
}

export class EmailStepDto extends StepBaseDto {
  @IsIn(['email']) declare type: 'email';
  @IsString() @IsNotEmpty() @MaxLength(8192) smtp!: string;
  @IsString() @IsNotEmpty() @MaxLength(1000) from!: string;
  @IsRecipients() to!: string | string[];
  @IsOptional() @IsRecipients() cc?: string | string[];
  @IsOptional() @IsRecipients() bcc?: string | string[];
  @IsString() @MaxLength(10_000) subject!: string;
  @IsOptional() @IsString() @MaxLength(1_000_000) text?: string;
  @IsOptional() @IsString() @MaxLength(1_000_000) html?: string;
}

export interface CompiledEmail {
  smtp: CompiledTemplate;
  fields: Record<'from' | 'to' | 'cc' | 'bcc' | 'subject' | 'text' | 'html', CompiledTemplate | undefined>;
}

/** Rendered recipients as a list: arrays element by element, text split at commas. */
function recipients(value: unknown): string[] {
  const items = Array.isArray(value) ? value.map(toText) : toText(value).split(',');
  return items.map((a) => a.trim()).filter((a) => a !== '');
}

async function renderEmail(
  c: CompiledEmail,
  ctx: Pick<StepRunContext, 'input' | 'bindings'>,
): Promise<{ url: URL; message: MailMessage; request: Record<string, unknown> }> {
  const url = await renderConnectionUrl(c.smtp, ctx.bindings, 'smtp', ['smtp:', 'smtps:']);
  const render = async (t?: CompiledTemplate): Promise<unknown> =>
    t ? t.render(ctx.input, ctx.bindings) : undefined;
  const cc = c.fields.cc ? recipients(await render(c.fields.cc)) : undefined;
  const bcc = c.fields.bcc ? recipients(await render(c.fields.bcc)) : undefined;
  const text = c.fields.text ? toText(await render(c.fields.text)) : undefined;
  const html = c.fields.html ? toText(await render(c.fields.html)) : undefined;
  const message: MailMessage = {
    from: toText(await render(c.fields.from)),
    to: recipients(await render(c.fields.to)),
    ...(cc ? { cc } : {}),
    ...(bcc ? { bcc } : {}),
    subject: toText(await render(c.fields.subject)),
    ...(text !== undefined ? { text } : {}),
    ...(html !== undefined ? { html } : {}),
  };
  const request = { smtp: maskUrl(url), ...message };
  if (message.from === '') throw new StepFailure('from is empty once rendered', false, { request });
  if (message.to.length + (cc?.length ?? 0) + (bcc?.length ?? 0) === 0) {
    throw new StepFailure('the message has no recipient once rendered', false, { request });
  }
  if (message.to.length > MAX_RECIPIENTS) {
    throw new StepFailure(`to holds more than ${MAX_RECIPIENTS} recipients`, false, { request });
  }
  return { url, message, request };
}

/** Sends one mail over SMTP or SMTPS (API.md section 11): a 5xx answer is final, the rest retried. */
export const emailStep: StepHandler<EmailStepDto, CompiledEmail> = {
  type: 'email',
  dto: EmailStepDto,
  pure: false,
  defaultAttempts: 5,
  compile(def, path) {
    const t = (field: keyof CompiledEmail['fields']): CompiledTemplate | undefined =>
      def[field] === undefined ? undefined : compileTemplate(def[field], `${path}.${field}`);
    return {
      smtp: compileConnectionUrl(def.smtp, `${path}.smtp`),
      fields: {
        from: t('from'),
        to: t('to'),
        cc: t('cc'),
        bcc: t('bcc'),
        subject: t('subject'),
        text: t('text'),
        html: t('html'),
      },
    };
  },
  async run(c, def, ctx) {
    const { url, message, request } = await renderEmail(c, ctx);
    const timeoutMs = def.timeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS;
    const pool = connectionsOf(ctx).smtp;
    let output;
    try {
      output = await withDeadline(
        pool.use(url, timeoutMs, (conn) => conn.send(message)),
        timeoutMs,
        'sending mail',
      );
    } catch (e) {
      throw connectionFailure(e, request, isSmtpRefusal);
    }
    return { kind: 'succeeded', output, request };
  },
  async preview(c, _def, ctx) {
    return { request: (await renderEmail(c, ctx)).request };
  },
};
