import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { signatureHeaders, signHmac, signStandardWebhook } from 'src/steps/outbound/signing';

describe('signStandardWebhook', () => {
  const key = randomBytes(32).toString('base64');
  const body = JSON.stringify({ type: 'order.created', data: { id: 42, note: 'ünïcode' } });
  const now = Math.floor(Date.now() / 1000);

  it.each([`whsec_${key}`, key])('is verified by the standardwebhooks library (secret %#)', (secret) => {
    const headers = signStandardWebhook({ id: 'msg_2abc', timestampSec: now, body, secret });
    expect(Object.keys(headers).sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    expect(headers['webhook-id']).toBe('msg_2abc');
    expect(headers['webhook-timestamp']).toBe(String(now));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(`whsec_${key}`).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('signs a Buffer body the same as its string', () => {
    const input = { id: 'msg_1', timestampSec: now, secret: `whsec_${key}` };
    expect(signStandardWebhook({ ...input, body: Buffer.from(body) })).toEqual(
      signStandardWebhook({ ...input, body }),
    );
  });

  it('matches the library signature for the same id and time', () => {
    const headers = signStandardWebhook({ id: 'msg_1', timestampSec: now, body, secret: `whsec_${key}` });
    expect(headers['webhook-signature']).toBe(
      new Webhook(`whsec_${key}`).sign('msg_1', new Date(now * 1000), body),
    );
  });

  it('fails verification with another secret', () => {
    const headers = signStandardWebhook({ id: 'msg_1', timestampSec: now, body, secret: `whsec_${key}` });
    const other = randomBytes(32).toString('base64');
    expect(() => new Webhook(`whsec_${other}`).verify(body, headers)).toThrow();
  });

  it.each(['', 'whsec_', 'whsec_not base64!', 'plain-text-secret', 'whsec_abc'])(
    'rejects the secret %j',
    (secret) => {
      expect(() => signStandardWebhook({ id: 'msg_1', timestampSec: now, body, secret })).toThrow(
        'standard-webhooks secret must be "whsec_" followed by base64, or plain base64',
      );
    },
  );

  it('rejects a bad timestamp or an empty id', () => {
    const secret = `whsec_${key}`;
    expect(() => signStandardWebhook({ id: 'm', timestampSec: 1.5, body, secret })).toThrow(
      'whole number of seconds',
    );
    expect(() => signStandardWebhook({ id: '', timestampSec: now, body, secret })).toThrow(
      'id must not be empty',
    );
  });
});

describe('signHmac', () => {
  const body = '{"hello":"world"}';
  const secret = 'it-is-a-secret';

  it.each([
    ['sha1', 'hex'],
    ['sha256', 'hex'],
    ['sha512', 'hex'],
    ['sha1', 'base64'],
    ['sha256', 'base64'],
    ['sha512', 'base64'],
  ] as const)('signs the body alone with %s/%s', (algorithm, encoding) => {
    const expected = createHmac(algorithm, secret).update(body).digest(encoding);
    expect(signHmac({ body, secret, algorithm, encoding })).toBe(expected);
  });

  it('puts the prefix before the digest', () => {
    const expected = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    expect(signHmac({ body, secret, algorithm: 'sha256', encoding: 'hex', prefix: 'sha256=' })).toBe(
      expected,
    );
  });

  it('rejects an empty secret', () => {
    expect(() => signHmac({ body, secret: '', algorithm: 'sha256', encoding: 'hex' })).toThrow(
      'hmac secret must not be empty',
    );
  });
});

describe('signatureHeaders', () => {
  const body = Buffer.from('{"a":1}');

  it('adds the three Standard Webhooks headers with the delivery id and the time in seconds', () => {
    const secret = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;
    const headers = signatureHeaders(
      { scheme: 'standard-webhooks', secret },
      body,
      'msg_1',
      1_700_000_000_999,
    );
    expect(headers).toEqual(signStandardWebhook({ id: 'msg_1', timestampSec: 1_700_000_000, body, secret }));
  });

  it('adds the hmac header in lower case, with the prefix', () => {
    const headers = signatureHeaders(
      {
        scheme: 'hmac',
        header: 'X-Sig',
        algorithm: 'sha256',
        encoding: 'hex',
        secret: 'k',
        prefix: 'sha256=',
      },
      body,
      'msg_1',
    );
    expect(headers).toEqual({ 'x-sig': `sha256=${createHmac('sha256', 'k').update(body).digest('hex')}` });
  });

  it.each([null, '', 42])('refuses a secret that rendered to %j', (secret) => {
    expect(() => signatureHeaders({ scheme: 'hmac', secret }, body, 'msg_1')).toThrow('sign.secret is empty');
  });

  it('refuses an unknown scheme', () => {
    expect(() => signatureHeaders({ scheme: 'md5', secret: 'x' }, body, 'msg_1')).toThrow('is not one of');
  });
});
