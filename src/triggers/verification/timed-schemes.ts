import type {
  SlackVerifyDto,
  StandardWebhooksVerifyDto,
  StripeVerifyDto,
} from 'src/flows/definitions/verify-config.dto';
import {
  fail,
  header,
  hmac,
  OK,
  parseUnixSeconds,
  safeEqual,
  safeEqualAny,
  withinTolerance,
  type VerifyRequest,
  type VerifyResult,
} from 'src/triggers/verification/verify-primitives';

export const DEFAULT_TOLERANCE_SEC = 300;

const TIMESTAMP_OUTSIDE_TOLERANCE = 'timestamp outside tolerance';
const SIGNATURE_MISMATCH = 'signature mismatch';

export function verifyStripe(config: StripeVerifyDto, request: VerifyRequest, nowMs: number): VerifyResult {
  const value = header(request, 'stripe-signature');
  if (value === undefined) return fail('missing Stripe-Signature header');

  let timestamp: number | undefined;
  const v1: string[] = [];
  for (const item of value.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    const val = item.slice(eq + 1).trim();
    if (key === 't') timestamp = parseUnixSeconds(val);
    // Several v1 entries appear while a secret is being rolled; other schemes (v0) are ignored as Stripe does.
    else if (key === 'v1') v1.push(val.toLowerCase());
  }
  if (timestamp === undefined) return fail('malformed Stripe-Signature header: no timestamp');
  if (v1.length === 0) return fail('malformed Stripe-Signature header: no v1 signature');
  if (!withinTolerance(timestamp, nowMs, config.toleranceSec ?? DEFAULT_TOLERANCE_SEC)) {
    return fail(TIMESTAMP_OUTSIDE_TOLERANCE);
  }

  const expected = hmac('sha256', config.secret, [`${timestamp}.`, request.rawBody]).toString('hex');
  return safeEqualAny(v1, expected) ? OK : fail(SIGNATURE_MISMATCH);
}

export function verifySlack(config: SlackVerifyDto, request: VerifyRequest, nowMs: number): VerifyResult {
  const signature = header(request, 'x-slack-signature');
  if (signature === undefined) return fail('missing X-Slack-Signature header');
  const rawTimestamp = header(request, 'x-slack-request-timestamp');
  if (rawTimestamp === undefined) return fail('missing X-Slack-Request-Timestamp header');

  const timestamp = parseUnixSeconds(rawTimestamp);
  if (timestamp === undefined) return fail('malformed X-Slack-Request-Timestamp header');
  if (!withinTolerance(timestamp, nowMs, config.toleranceSec ?? DEFAULT_TOLERANCE_SEC)) {
    return fail(TIMESTAMP_OUTSIDE_TOLERANCE);
  }

  // The timestamp is signed as sent, not re-serialised, so a leading zero cannot make it differ.
  const expected =
    'v0=' + hmac('sha256', config.secret, [`v0:${rawTimestamp}:`, request.rawBody]).toString('hex');
  return safeEqual(signature.toLowerCase(), expected) ? OK : fail(SIGNATURE_MISMATCH);
}

const WHSEC_PREFIX = 'whsec_';

export function verifyStandardWebhooks(
  config: StandardWebhooksVerifyDto,
  request: VerifyRequest,
  nowMs: number,
): VerifyResult {
  const id = header(request, 'webhook-id');
  if (id === undefined) return fail('missing webhook-id header');
  const rawTimestamp = header(request, 'webhook-timestamp');
  if (rawTimestamp === undefined) return fail('missing webhook-timestamp header');
  const signatures = header(request, 'webhook-signature');
  if (signatures === undefined) return fail('missing webhook-signature header');

  const timestamp = parseUnixSeconds(rawTimestamp);
  if (timestamp === undefined) return fail('malformed webhook-timestamp header');
  if (!withinTolerance(timestamp, nowMs, config.toleranceSec ?? DEFAULT_TOLERANCE_SEC)) {
    return fail(TIMESTAMP_OUTSIDE_TOLERANCE);
  }

  // Space-separated `<version>,<base64>` entries; only symmetric v1 applies to a shared secret
  // (v1a is the asymmetric ed25519 variant), and any entry may match while keys rotate.
  const v1 = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice('v1,'.length));
  if (v1.length === 0) return fail('malformed webhook-signature header: no v1 signature');

  const secret = config.secret.startsWith(WHSEC_PREFIX)
    ? config.secret.slice(WHSEC_PREFIX.length)
    : config.secret;
  const key = Buffer.from(secret, 'base64');
  const expected = hmac('sha256', key, [`${id}.${rawTimestamp}.`, request.rawBody]).toString('base64');
  return safeEqualAny(v1, expected) ? OK : fail(SIGNATURE_MISMATCH);
}
