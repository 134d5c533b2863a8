import type { Transporter } from 'nodemailer';
import { lazyModule } from 'src/common/lazy-module';
import type { ClientError } from 'src/steps/connections/connection-errors';
import { IDLE_CLOSE_MS, type PooledConnection } from 'src/steps/connections/connection-pool';
import { tlsServerName, urlCredentials } from 'src/steps/connections/connection-url';

const nodemailer = lazyModule<typeof import('nodemailer')>('nodemailer');

/** Failures in what we asked for rather than in getting it there: retrying sends the same mistake. */
const FINAL_CODES = new Set(['ECONFIG', 'EENVELOPE', 'EMAXRECIPIENTS', 'EFILEACCESS', 'EURLACCESS']);

/** An SMTP 5xx is final (API.md section 11), a 4xx and a lost connection are retried. */
export function isSmtpRefusal(e: ClientError): boolean {
  const responseCode = (e as { responseCode?: unknown }).responseCode;
  if (typeof responseCode === 'number') return responseCode >= 500;
  return typeof e.code === 'string' && FINAL_CODES.has(e.code);
}

export interface MailMessage {
  from: string;
  to: string[];
  cc?: string[];
  bcc?: string[];
  subject: string;
  text?: string;
  html?: string;
}

export interface MailSent {
  messageId: string;
  accepted: string[];
  rejected: string[];
}

/** Nodemailer's SMTP pool for one URL; it connects on the first send, to the address the guard checked. */
export class SmtpConnection implements PooledConnection {
  private closed = false;

  private constructor(private readonly transport: Transporter) {}

  static open(url: URL, address: string, timeoutMs: number): SmtpConnection {
    const secure = url.protocol === 'smtps:';
    const { user, password } = urlCredentials(url);
    const transport = nodemailer().createTransport({
      pool: true,
      maxConnections: 5,
      host: address,
      port: url.port ? Number(url.port) : secure ? 465 : 587,
      secure,
      servername: tlsServerName(url),
      ...(user !== undefined ? { auth: { user, pass: password ?? '' } } : {}),
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: IDLE_CLOSE_MS,
    });
    // Idle pooled connections that fail are replaced by nodemailer; nothing to report.
    transport.on('error', () => undefined);
    return new SmtpConnection(transport);
  }

  get usable(): boolean {
    return !this.closed;
  }

  async send(message: MailMessage): Promise<MailSent> {
    const info = (await this.transport.sendMail(message)) as {
      messageId?: string;
      accepted?: unknown[];
      rejected?: unknown[];
    };
    return {
      messageId: info.messageId ?? '',
      accepted: (info.accepted ?? []).map(address),
      rejected: (info.rejected ?? []).map(address),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.transport.close();
    return Promise.resolve();
  }
}

/** Nodemailer lists recipients as text or as `{address}`. */
function address(value: unknown): string {
  if (typeof value === 'string') return value;
  const a = (value as { address?: unknown } | null)?.address;
  return typeof a === 'string' ? a : String(value);
}
