import { createHmac } from 'node:crypto';
import type { SignHmacAlgorithm, SignHmacEncoding } from 'src/steps/outbound/sign-config.dto';

/** Outbound request signing (API.md section 5, `sign`). Pure: the caller supplies id and time. */

export interface StandardWebhookInput {
  /** `webhook-id`: the same on every attempt of a step in one execution. */
  id: string;
  /** Unix time in seconds. */
  timestampSec: number;
  /** The body exactly as sent. */
  body: string | Buffer;
  /** `whsec_<base64>` or plain base64. */
  secret: string;
}

export interface HmacSignInput {
  body: string | Buffer;
  secret: string;
  algorithm: SignHmacAlgorithm;
  encoding: SignHmacEncoding;
  /** Put before the digest, e.g. `sha256=`. */
  prefix?: string;
}

const STANDARD_WEBHOOKS_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decode a Standard Webhooks secret to its key bytes; throws when it is not `whsec_<base64>` or base64. */
export function decodeStandardWebhookSecret(secret: string): Buffer {
  const encoded = secret.startsWith(STANDARD_WEBHOOKS_PREFIX)
    ? secret.slice(STANDARD_WEBHOOKS_PREFIX.length)
    : secret;
  if (encoded === '' || !BASE64.test(encoded)) {
    throw new Error('standard-webhooks secret must be "whsec_" followed by base64, or plain base64');
  }
  return Buffer.from(encoded, 'base64');
}

/** Headers `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256>`). */
export function signStandardWebhook(input: StandardWebhookInput): Record<string, string> {
  const { id, timestampSec, body, secret } = input;
  if (id === '') throw new Error('standard-webhooks id must not be empty');
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) {
    throw new Error('standard-webhooks timestamp must be a whole number of seconds');
  }
  const key = decodeStandardWebhookSecret(secret);
  const signature = createHmac('sha256', key).update(`${id}.${timestampSec}.`).update(body).digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': `v1,${signature}`,
  };
}

/** Header value for the `hmac` scheme: `prefix` + digest of the body alone, keyed with the secret's UTF-8 bytes. */
export function signHmac(input: HmacSignInput): string {
  const { body, secret, algorithm, encoding, prefix = '' } = input;
  if (secret === '') throw new Error('hmac secret must not be empty');
  return prefix + createHmac(algorithm, secret).update(body).digest(encoding);
}

/**
 * The headers a rendered `sign` block adds to a request whose body is `body` (the exact bytes sent).
 * `config` is the step's `sign` after its templates were rendered, so secrets are plain text here.
 * Throws an Error whose message says what is wrong with the config.
 */
export function signatureHeaders(
  config: unknown,
  body: Buffer,
  deliveryId: string,
  nowMs: number = Date.now(),
): Record<string, string> {
  const c = (config ?? {}) as Record<string, unknown>;
  const secret = c.secret;
  if (typeof secret !== 'string' || secret === '') {
    throw new Error('sign.secret is empty once rendered (is the secret set?)');
  }
  if (c.scheme === 'standard-webhooks') {
    return signStandardWebhook({ id: deliveryId, timestampSec: Math.floor(nowMs / 1000), body, secret });
  }
  if (c.scheme === 'hmac') {
    const prefix = typeof c.prefix === 'string' ? c.prefix : undefined;
    const value = signHmac({
      body,
      secret,
      algorithm: c.algorithm as SignHmacAlgorithm,
      encoding: c.encoding as SignHmacEncoding,
      prefix,
    });
    return { [String(c.header).toLowerCase()]: value };
  }
  throw new Error(`sign.scheme ${JSON.stringify(c.scheme)} is not one of: standard-webhooks, hmac`);
}
