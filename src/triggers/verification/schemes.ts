import { verifySlack, verifyStandardWebhooks, verifyStripe } from 'src/triggers/verification/timed-schemes';
import type {
  BasicVerifyDto,
  GithubVerifyDto,
  HmacVerifyDto,
  ShopifyVerifyDto,
  TokenVerifyDto,
  VerifyConfig,
} from 'src/flows/definitions/verify-config.dto';
import {
  fail,
  header,
  hmac,
  OK,
  safeEqual,
  type VerifyRequest,
  type VerifyResult,
} from 'src/triggers/verification/verify-primitives';

export type { VerifyRequest, VerifyResult } from 'src/triggers/verification/verify-primitives';
export { DEFAULT_TOLERANCE_SEC } from 'src/triggers/verification/timed-schemes';

const SIGNATURE_MISMATCH = 'signature mismatch';

/**
 * Checks a webhook request against its flow's `trigger.verify`. Pure: the secrets in `config` are already
 * rendered and the clock is passed in. Reasons are safe to log; they never carry a secret or an expected value.
 */
export function verifySignature(config: VerifyConfig, request: VerifyRequest, nowMs: number): VerifyResult {
  switch (config.scheme) {
    case 'github':
      return verifyGithub(config, request);
    case 'stripe':
      return verifyStripe(config, request, nowMs);
    case 'slack':
      return verifySlack(config, request, nowMs);
    case 'shopify':
      return verifyShopify(config, request);
    case 'standard-webhooks':
      return verifyStandardWebhooks(config, request, nowMs);
    case 'hmac':
      return verifyHmac(config, request);
    case 'token':
      return verifyToken(config, request);
    case 'basic':
      return verifyBasic(config, request);
  }
}

function verifyGithub(config: GithubVerifyDto, request: VerifyRequest): VerifyResult {
  const signature = header(request, 'x-hub-signature-256');
  if (signature === undefined) return fail('missing X-Hub-Signature-256 header');
  const expected = 'sha256=' + hmac('sha256', config.secret, [request.rawBody]).toString('hex');
  return safeEqual(signature.toLowerCase(), expected) ? OK : fail(SIGNATURE_MISMATCH);
}

function verifyShopify(config: ShopifyVerifyDto, request: VerifyRequest): VerifyResult {
  const signature = header(request, 'x-shopify-hmac-sha256');
  if (signature === undefined) return fail('missing X-Shopify-Hmac-Sha256 header');
  const expected = hmac('sha256', config.secret, [request.rawBody]).toString('base64');
  return safeEqual(signature.trim(), expected) ? OK : fail(SIGNATURE_MISMATCH);
}

function verifyHmac(config: HmacVerifyDto, request: VerifyRequest): VerifyResult {
  const value = header(request, config.header);
  if (value === undefined) return fail(`missing ${config.header} header`);
  const prefix = config.prefix ?? '';
  if (!value.startsWith(prefix)) return fail(`${config.header} header lacks the expected prefix`);

  const mac = hmac(config.algorithm, config.secret, [request.rawBody]);
  // Hex is case-insensitive on the wire; base64 is not.
  const received =
    config.encoding === 'hex'
      ? value.slice(prefix.length).trim().toLowerCase()
      : value.slice(prefix.length).trim();
  return safeEqual(received, mac.toString(config.encoding)) ? OK : fail(SIGNATURE_MISMATCH);
}

function verifyToken(config: TokenVerifyDto, request: VerifyRequest): VerifyResult {
  const value = header(request, config.header);
  if (value === undefined) return fail(`missing ${config.header} header`);
  return safeEqual(value, config.value) ? OK : fail('token mismatch');
}

const BASIC = /^basic\s+(\S+)\s*$/i;

function verifyBasic(config: BasicVerifyDto, request: VerifyRequest): VerifyResult {
  const value = header(request, 'authorization');
  if (value === undefined) return fail('missing Authorization header');
  const match = BASIC.exec(value);
  if (match === null) return fail('Authorization header is not Basic');
  const received = Buffer.from(match[1], 'base64');
  const expected = Buffer.from(`${config.username}:${config.password}`, 'utf8');
  return safeEqual(received, expected) ? OK : fail('invalid credentials');
}

/**
 * The header that carries the credential itself rather than a signature over the body (token, basic):
 * once checked it is kept out of the stored event, so the execution record cannot leak it.
 */
export function credentialHeader(config: VerifyConfig): string | undefined {
  switch (config.scheme) {
    case 'token':
      return config.header.toLowerCase();
    case 'basic':
      return 'authorization';
    case 'github':
    case 'stripe':
    case 'slack':
    case 'shopify':
    case 'standard-webhooks':
    case 'hmac':
      return undefined;
  }
}
