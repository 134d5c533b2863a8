import { Equals, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, Min } from 'class-validator';

export const VERIFY_SCHEMES = [
  'github',
  'stripe',
  'slack',
  'shopify',
  'standard-webhooks',
  'hmac',
  'token',
  'basic',
] as const;
export type VerifyScheme = (typeof VERIFY_SCHEMES)[number];

export const HMAC_ALGORITHMS = ['sha1', 'sha256', 'sha512'] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];

export const HMAC_ENCODINGS = ['hex', 'base64'] as const;
export type HmacEncoding = (typeof HMAC_ENCODINGS)[number];

export const MAX_TOLERANCE_SEC = 86400;

// Secrets may still be `{{ $secrets.X }}` templates at validation time, so only non-emptiness is checked here.
export class GithubVerifyDto {
  @Equals('github')
  scheme!: 'github';

  @IsString()
  @IsNotEmpty()
  secret!: string;
}

export class StripeVerifyDto {
  @Equals('stripe')
  scheme!: 'stripe';

  @IsString()
  @IsNotEmpty()
  secret!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TOLERANCE_SEC)
  toleranceSec?: number;
}

export class SlackVerifyDto {
  @Equals('slack')
  scheme!: 'slack';

  @IsString()
  @IsNotEmpty()
  secret!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TOLERANCE_SEC)
  toleranceSec?: number;
}

export class ShopifyVerifyDto {
  @Equals('shopify')
  scheme!: 'shopify';

  @IsString()
  @IsNotEmpty()
  secret!: string;
}

export class StandardWebhooksVerifyDto {
  @Equals('standard-webhooks')
  scheme!: 'standard-webhooks';

  /** `whsec_<base64>` once rendered. */
  @IsString()
  @IsNotEmpty()
  secret!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TOLERANCE_SEC)
  toleranceSec?: number;
}

export class HmacVerifyDto {
  @Equals('hmac')
  scheme!: 'hmac';

  @IsString()
  @IsNotEmpty()
  secret!: string;

  /** Header name; matched case-insensitively. */
  @IsString()
  @IsNotEmpty()
  header!: string;

  @IsIn(HMAC_ALGORITHMS)
  algorithm!: HmacAlgorithm;

  @IsIn(HMAC_ENCODINGS)
  encoding!: HmacEncoding;

  /** e.g. `sha256=`; when set the header must start with it. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  prefix?: string;
}

export class TokenVerifyDto {
  @Equals('token')
  scheme!: 'token';

  /** Header name; matched case-insensitively. */
  @IsString()
  @IsNotEmpty()
  header!: string;

  @IsString()
  @IsNotEmpty()
  value!: string;
}

export class BasicVerifyDto {
  @Equals('basic')
  scheme!: 'basic';

  @IsString()
  @IsNotEmpty()
  username!: string;

  @IsString()
  @IsNotEmpty()
  password!: string;
}

export type VerifyConfig =
  | GithubVerifyDto
  | StripeVerifyDto
  | SlackVerifyDto
  | ShopifyVerifyDto
  | StandardWebhooksVerifyDto
  | HmacVerifyDto
  | TokenVerifyDto
  | BasicVerifyDto;

export type VerifyDtoClass = new () => VerifyConfig;

/** Pick the class to validate `trigger.verify` against, e.g. with `plainToInstance` + `validate`. */
export const VERIFY_DTO_BY_SCHEME: Record<VerifyScheme, VerifyDtoClass> = {
  github: GithubVerifyDto,
  stripe: StripeVerifyDto,
  slack: SlackVerifyDto,
  shopify: ShopifyVerifyDto,
  'standard-webhooks': StandardWebhooksVerifyDto,
  hmac: HmacVerifyDto,
  token: TokenVerifyDto,
  basic: BasicVerifyDto,
};
