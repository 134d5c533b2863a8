import { Equals, IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** The `sign` field of an http step (API.md section 5). */

export const SIGN_SCHEMES = ['standard-webhooks', 'hmac'] as const;
export type SignScheme = (typeof SIGN_SCHEMES)[number];

export const SIGN_HMAC_ALGORITHMS = ['sha1', 'sha256', 'sha512'] as const;
export type SignHmacAlgorithm = (typeof SIGN_HMAC_ALGORITHMS)[number];

export const SIGN_HMAC_ENCODINGS = ['hex', 'base64'] as const;
export type SignHmacEncoding = (typeof SIGN_HMAC_ENCODINGS)[number];

// Secrets may still be `{{ $secrets.X }}` templates at validation time, so only non-emptiness is checked
// here; `signing.ts` rejects a malformed secret once rendered.
export class StandardWebhooksSignDto {
  @Equals('standard-webhooks')
  scheme!: 'standard-webhooks';

  /** `whsec_<base64>` once rendered. */
  @IsString()
  @IsNotEmpty()
  secret!: string;
}

export class HmacSignDto {
  @Equals('hmac')
  scheme!: 'hmac';

  /** Header that carries the signature, e.g. `X-Signature`. */
  @IsString()
  @Matches(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: 'header must be a valid HTTP header name' })
  @MaxLength(128)
  header!: string;

  @IsIn(SIGN_HMAC_ALGORITHMS)
  algorithm!: SignHmacAlgorithm;

  @IsIn(SIGN_HMAC_ENCODINGS)
  encoding!: SignHmacEncoding;

  @IsString()
  @IsNotEmpty()
  secret!: string;

  /** Put before the digest, e.g. `sha256=`. */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  prefix?: string;
}

export type SignConfig = StandardWebhooksSignDto | HmacSignDto;

type SignDtoClass<S extends SignScheme> = new () => Extract<SignConfig, { scheme: S }>;

/** Pick the class to validate `step.sign` against, e.g. with `plainToInstance` + `validate`. */
export const SIGN_DTO_BY_SCHEME: { [S in SignScheme]: SignDtoClass<S> } = {
  'standard-webhooks': StandardWebhooksSignDto,
  hmac: HmacSignDto,
};
