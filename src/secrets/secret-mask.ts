import type { AttemptRecord, StepRecord } from 'src/executions/execution.entity';
import { MASK, mapStrings, secretMasker } from 'src/secrets/secret-cipher';

/** `scheme://userinfo@`: the user and password part of a URL (RFC 3986 userinfo holds no / ? # @). */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>\\]+@/gi;

/** `https://user:pass@host/` → `https://***@host/`, wherever such a URL sits in the text. */
export function maskUrlCredentials(text: string): string {
  return text.includes('@') ? text.replace(URL_CREDENTIALS, `$1${MASK}@`) : text;
}

/** An error text as it is stored: secret values and URL credentials masked. */
export function maskErrorText(text: string, secrets: readonly string[]): string {
  const mask = secretMasker(secrets);
  return maskUrlCredentials(mask ? mask(text) : text);
}

/** The attempt's request URL and error with URL credentials masked; the same object when there are none. */
function maskAttemptUrl(a: AttemptRecord): AttemptRecord {
  const request = a.request as { url?: unknown } | null | undefined;
  const url = typeof request?.url === 'string' ? maskUrlCredentials(request.url) : undefined;
  const error = a.error === undefined ? undefined : maskUrlCredentials(a.error);
  const newUrl = url !== undefined && url !== request?.url;
  if (!newUrl && error === a.error) return a;
  return {
    ...a,
    ...(newUrl ? { request: { ...request, url } } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}

/**
 * The step record as it is written to PostgreSQL: secret values masked in its output and error, URL
 * credentials in its error and in its newest attempt's request URL and error (older attempts were
 * masked when they were new; an attempt's own secret values are masked as it is made, by the
 * runner's finish()). A new object: the output the caller hands to later steps is not touched.
 */
export function maskStepRecord(rec: StepRecord, secrets: readonly string[]): StepRecord {
  const mask = secretMasker(secrets);
  const last = rec.attempts.length - 1;
  const out: StepRecord = { ...rec };
  if (mask && rec.output !== undefined) out.output = mapStrings(rec.output, mask);
  if (rec.error !== undefined) out.error = maskUrlCredentials(mask ? mask(rec.error) : rec.error);
  if (last >= 0) out.attempts = [...rec.attempts.slice(0, last), maskAttemptUrl(rec.attempts[last])];
  return out;
}
