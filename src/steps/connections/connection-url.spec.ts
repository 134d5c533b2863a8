import { TemplateSyntaxError } from 'src/expressions/template';
import {
  compileConnectionUrl,
  maskUrl,
  renderConnectionUrl,
  resolveAllowedAddress,
} from 'src/steps/connections/connection-url';
import { parseAllowList } from 'src/steps/outbound/address-guard';
import { StepFailure } from 'src/steps/step-failure';

const bindings = { secrets: { DB: 'postgres://app:pw@db.internal:5432/app', HOST: '127.0.0.1' } };

describe('connection URLs', () => {
  it.each([
    'amqp://{{ $secrets.X }}',
    'amqp://u:{{ $secrets.`odd name` }}@h',
    "amqp://{{ $secrets['X'] }}:5672",
    'postgres://h/db',
  ])('compiles %s (literal text and $secrets parts)', (text) => {
    expect(() => compileConnectionUrl(text, 'steps[0].url')).not.toThrow();
  });

  it.each([
    'amqp://{{ event.body.host }}',
    'amqp://{{ $secrets.X & event.body.x }}',
    'amqp://{{ steps.a.host }}',
    'amqp://{{ $string($secrets.X) }}',
  ])('refuses %s: an event must not choose the host', (text) => {
    expect(() => compileConnectionUrl(text, 'steps[0].url')).toThrow(TemplateSyntaxError);
    expect(() => compileConnectionUrl(text, 'steps[0].url')).toThrow(
      /^steps\[0\]\.url: a connection URL may only use \{\{ \$secrets\.NAME \}\} parts/,
    );
  });

  it('renders secrets and checks the scheme without echoing the URL', async () => {
    const url = await renderConnectionUrl(compileConnectionUrl('{{ $secrets.DB }}', 'u'), bindings, 'url', [
      'postgres:',
    ]);
    expect(url.hostname).toBe('db.internal');
    const wrong = renderConnectionUrl(compileConnectionUrl('{{ $secrets.DB }}', 'u'), bindings, 'url', [
      'mysql:',
    ]);
    await expect(wrong).rejects.toBeInstanceOf(StepFailure);
    await expect(wrong).rejects.toThrow('url: postgres: URLs are not allowed; use mysql://');
    await expect(
      renderConnectionUrl(compileConnectionUrl('not a url {{ $secrets.HOST }}', 'u'), bindings, 'url', [
        'amqp:',
      ]),
    ).rejects.toThrow(/^url is not a valid URL$/);
  });

  it('masks user and password', () => {
    expect(maskUrl(new URL('amqp://guest:guest@127.0.0.1:5672/vh'))).toBe('amqp://***@127.0.0.1:5672/vh');
    expect(maskUrl(new URL('smtps://u:p%40ss@mail.example.com'))).toBe('smtps://***@mail.example.com');
    expect(maskUrl(new URL('nats://127.0.0.1:4222'))).toBe('nats://127.0.0.1:4222');
  });

  it('lets an allowed address through and refuses the rest before any connection', async () => {
    const allow = parseAllowList('127.0.0.1/32');
    expect(await resolveAllowedAddress('127.0.0.1', allow)).toBe('127.0.0.1');
    await expect(resolveAllowedAddress('127.0.0.2', allow)).rejects.toThrow(
      '127.0.0.2 is a loopback address; add it to OUTBOUND_ALLOW to allow it',
    );
    await expect(resolveAllowedAddress('[::1]', allow)).rejects.toThrow('::1 is a loopback address');
    await expect(resolveAllowedAddress('10.0.0.5', allow)).rejects.toThrow('10.0.0.5 is a private address');
  });
});
