import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import {
  VERIFY_DTO_BY_SCHEME,
  VERIFY_SCHEMES,
  type VerifyScheme,
} from 'src/flows/definitions/verify-config.dto';

function errors(scheme: VerifyScheme, plain: object): string[] {
  const instance = plainToInstance(VERIFY_DTO_BY_SCHEME[scheme], plain);
  return validateSync(instance, { whitelist: true, forbidNonWhitelisted: true }).map((e) => e.property);
}

describe('verify config DTOs', () => {
  it('has one class per scheme', () => {
    expect(Object.keys(VERIFY_DTO_BY_SCHEME).sort()).toEqual([...VERIFY_SCHEMES].sort());
  });

  it('accepts templated secrets and valid options', () => {
    expect(errors('github', { scheme: 'github', secret: '{{ $secrets.GH }}' })).toEqual([]);
    expect(errors('stripe', { scheme: 'stripe', secret: 'whsec_x', toleranceSec: 86400 })).toEqual([]);
    expect(
      errors('hmac', {
        scheme: 'hmac',
        secret: 's',
        header: 'X-Sig',
        algorithm: 'sha512',
        encoding: 'base64',
        prefix: 'v=',
      }),
    ).toEqual([]);
    expect(errors('token', { scheme: 'token', header: 'X-Token', value: 't' })).toEqual([]);
    expect(errors('basic', { scheme: 'basic', username: 'u', password: 'p' })).toEqual([]);
  });

  it('rejects bad values', () => {
    expect(errors('github', { scheme: 'github', secret: '' })).toEqual(['secret']);
    expect(errors('slack', { scheme: 'stripe', secret: 's' })).toEqual(['scheme']);
    for (const toleranceSec of [0, 86401, 1.5, '300']) {
      expect(
        errors('standard-webhooks', { scheme: 'standard-webhooks', secret: 'whsec_x', toleranceSec }),
      ).toEqual(['toleranceSec']);
    }
    expect(
      errors('hmac', { scheme: 'hmac', secret: 's', header: '', algorithm: 'md5', encoding: 'utf8' }).sort(),
    ).toEqual(['algorithm', 'encoding', 'header']);
    expect(errors('token', { scheme: 'token', header: 'X-Token', value: 't', extra: 1 })).toEqual(['extra']);
  });
});
