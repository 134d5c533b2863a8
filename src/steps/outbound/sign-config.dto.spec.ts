import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { SIGN_DTO_BY_SCHEME, type SignScheme } from 'src/steps/outbound/sign-config.dto';

function errorsOf(plain: { scheme: SignScheme } & Record<string, unknown>): string[] {
  const dtoClass: new () => object = SIGN_DTO_BY_SCHEME[plain.scheme];
  const dto = plainToInstance(dtoClass, plain);
  return validateSync(dto, { whitelist: true, forbidNonWhitelisted: true }).map((error) => error.property);
}

describe('sign config DTOs', () => {
  it('accepts a standard-webhooks config, template secrets included', () => {
    expect(errorsOf({ scheme: 'standard-webhooks', secret: '{{ $secrets.HOOK }}' })).toEqual([]);
  });

  it('accepts an hmac config with and without a prefix', () => {
    const base = {
      scheme: 'hmac' as const,
      header: 'X-Signature',
      algorithm: 'sha256',
      encoding: 'hex',
      secret: 's',
    };
    expect(errorsOf(base)).toEqual([]);
    expect(errorsOf({ ...base, prefix: 'sha256=' })).toEqual([]);
  });

  it('names each bad field', () => {
    expect(errorsOf({ scheme: 'standard-webhooks', secret: '' })).toEqual(['secret']);
    expect(
      errorsOf({
        scheme: 'hmac',
        header: 'bad header',
        algorithm: 'md5',
        encoding: 'latin1',
        secret: '',
        extra: 1,
      }).sort(),
    ).toEqual(['algorithm', 'encoding', 'extra', 'header', 'secret']);
  });
});
