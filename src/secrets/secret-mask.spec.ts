import type { StepRecord } from 'src/executions/execution.entity';
import { maskSecrets } from 'src/secrets/secret-cipher';
import { maskErrorText, maskStepRecord, maskUrlCredentials } from 'src/secrets/secret-mask';
import { forgetKnownSecrets, maskKnownSecrets, rememberSecrets } from 'src/secrets/secret-registry';

describe('masking before storage', () => {
  it('masks the user and password of URLs, wherever they sit in a text', () => {
    expect(maskUrlCredentials('https://user:pa55@host.example/a@b?x=1')).toBe(
      'https://***@host.example/a@b?x=1',
    );
    expect(maskUrlCredentials('GET http://tok@127.0.0.1:9/x failed; see ftp://a:b@c')).toBe(
      'GET http://***@127.0.0.1:9/x failed; see ftp://***@c',
    );
    expect(maskUrlCredentials('mail me@example.com at http://host/path')).toBe(
      'mail me@example.com at http://host/path',
    );
  });

  it('masks output and error of a step record, and the newest attempt, without touching the output handed on', () => {
    const output = { token: 'sekrit-1', nested: ['x sekrit-1 y'] };
    const rec: StepRecord = {
      status: 'failed',
      output,
      error: 'HTTP 500 from http://u:p@h/ with sekrit-1',
      attempts: [
        { n: 1, startedAt: 'a', finishedAt: 'b', durationMs: 1, request: { url: 'http://old:pw@h/' } },
        {
          n: 2,
          startedAt: 'a',
          finishedAt: 'b',
          durationMs: 1,
          request: { url: 'http://u:p@h/x', headers: { a: 'b' } },
          error: 'to http://u:p@h/x',
        },
      ],
    };
    const stored = maskStepRecord(rec, ['sekrit-1']);
    expect(stored.output).toEqual({ token: '***', nested: ['x *** y'] });
    expect(stored.error).toBe('HTTP 500 from http://***@h/ with ***');
    expect(stored.attempts[1]).toEqual({
      n: 2,
      startedAt: 'a',
      finishedAt: 'b',
      durationMs: 1,
      request: { url: 'http://***@h/x', headers: { a: 'b' } },
      error: 'to http://***@h/x',
    });
    // Older attempts were masked when they were new; the same object is kept.
    expect(stored.attempts[0]).toBe(rec.attempts[0]);
    expect(output).toEqual({ token: 'sekrit-1', nested: ['x sekrit-1 y'] });
    expect(rec.output).toBe(output);
  });

  it('copies nothing but the record when there are no secrets and no URL credentials', () => {
    const attempt = { n: 1, startedAt: 'a', finishedAt: 'b', durationMs: 1, request: { url: 'http://h/' } };
    const output = { a: 1 };
    const stored = maskStepRecord({ status: 'succeeded', output, attempts: [attempt] }, []);
    expect(stored.output).toBe(output);
    expect(stored.attempts[0]).toBe(attempt);
  });

  it('masks error texts, and cycles do not overflow the stack', () => {
    expect(maskErrorText('step a failed: bad sekrit-1 at https://x:y@h', ['sekrit-1'])).toBe(
      'step a failed: bad *** at https://***@h',
    );
    const cyclic: Record<string, unknown> = { k: 'sekrit-1' };
    cyclic.self = cyclic;
    expect(maskSecrets(cyclic, ['sekrit-1'])).toEqual({ k: '***', self: '[Circular]' });
  });
});

describe('log line masking', () => {
  afterEach(() => forgetKnownSecrets());

  it('is a no-op while no secret is known, and masks raw and JSON-escaped values once known', () => {
    const line = '{"msg":"pg error: Token \\\\"a\\\\b\\" is invalid"}\n';
    expect(maskKnownSecrets(line)).toBe(line);
    rememberSecrets(['a\\b"', 'ok']);
    expect(maskKnownSecrets(JSON.stringify({ msg: 'value a\\b" here' }))).toBe('{"msg":"value *** here"}');
    // Too short to mask: ordinary text would be masked everywhere.
    expect(maskKnownSecrets('{"msg":"ok"}')).toBe('{"msg":"ok"}');
  });
});
