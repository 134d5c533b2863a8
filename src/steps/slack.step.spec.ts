import 'reflect-metadata';
import { validateShape } from 'src/common/validate-shape';
import { classifySlackAnswer, renderSlackRequest, SlackStepDto, slackStep } from 'src/steps/slack.step';
import { StepFailure } from 'src/steps/step-handler';

const ctx = {
  input: {
    event: { body: { who: 'Ada' } },
    steps: {},
    flow: { id: 'f', name: 'n', version: 1 },
    execution: { id: 'e' },
  },
  bindings: { secrets: { SLACK_TOKEN: 'xoxb-secret-token', SLACK_HOOK: 'http://127.0.0.1:9/hook' } },
};

describe('SlackStepDto', () => {
  const errors = (step: Record<string, unknown>): string[] =>
    validateShape(SlackStepDto, { id: 's', type: 'slack', ...step }, 'steps[0]').errors;

  it.each([
    [{ webhookUrl: 'https://hooks.slack.com/services/x', text: 'hi' }],
    [{ webhookUrl: '{{ $secrets.SLACK_HOOK }}', blocks: [{ type: 'section' }] }],
    [{ token: '{{ $secrets.T }}', channel: '#general', text: 'hi', blocks: '{{ steps.b }}' }],
  ])('accepts %j', (step) => {
    expect(errors(step)).toEqual([]);
  });

  it.each([
    [{ text: 'hi' }, 'steps[0].webhookUrl must be a string (or give token and channel)'],
    [{ token: 't', text: 'hi' }, 'steps[0].channel must be a string'],
    [{ channel: '#c', text: 'hi' }, 'steps[0].token must be a string'],
    [
      { webhookUrl: 'https://x', token: 't', channel: '#c', text: 'hi' },
      'steps[0].webhookUrl cannot be combined with token or channel',
    ],
    [{ webhookUrl: 'https://x' }, 'steps[0].text must be a string (text or blocks is required)'],
    [{ webhookUrl: 'https://x', blocks: 3 }, 'steps[0].blocks must be an array of at most 50 blocks'],
    [{ webhookUrl: 'https://x', text: 'hi', username: 'bot' }, 'property steps[0].username should not exist'],
  ])('refuses %j', (step, message) => {
    expect(errors(step).join('; ')).toContain(message);
  });
});

describe('classifySlackAnswer', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads a Web API success', () => {
    expect(classifySlackAnswer('api', 200, {}, { ok: true, ts: '1.2', channel: 'C1', message: {} })).toEqual({
      ok: true,
      output: { ok: true, ts: '1.2', channel: 'C1' },
    });
  });

  it('reads an incoming webhook "ok"', () => {
    expect(classifySlackAnswer('webhook', 200, {}, 'ok')).toEqual({ ok: true, output: { ok: true } });
  });

  it.each(['invalid_auth', 'channel_not_found', 'not_in_channel', 'account_inactive', 'no_text'])(
    'fails at once on HTTP 200 ok:false %s, naming the code',
    (code) => {
      expect(classifySlackAnswer('api', 200, {}, { ok: false, error: code })).toEqual({
        ok: false,
        error: `Slack error: ${code}`,
        retryable: false,
        retryAfterMs: undefined,
      });
    },
  );

  it('retries ok:false ratelimited after Retry-After', () => {
    expect(
      classifySlackAnswer('api', 200, { 'retry-after': '3' }, { ok: false, error: 'ratelimited' }, now),
    ).toEqual({ ok: false, error: 'Slack error: ratelimited', retryable: true, retryAfterMs: 3000 });
  });

  it('retries a 429 after Retry-After, starting with "HTTP 429" so the back-off floor applies', () => {
    expect(classifySlackAnswer('webhook', 429, { 'retry-after': '1' }, 'rate_limited', now)).toEqual({
      ok: false,
      error: 'HTTP 429: rate_limited',
      retryable: true,
      retryAfterMs: 1000,
    });
  });

  it.each([
    [404, 'channel_not_found', false],
    [403, 'invalid_token', false],
    [400, 'invalid_payload', false],
    [410, 'channel_is_archived', false],
    [500, 'internal_error', true],
    [503, undefined, true],
  ])('incoming webhook HTTP %d %s → retryable %s', (status, code, retryable) => {
    const v = classifySlackAnswer('webhook', status, {}, code ?? '<html>down</html>');
    expect(v).toMatchObject({ ok: false, retryable, error: `HTTP ${status}${code ? `: ${code}` : ''}` });
  });

  it('fails a redirect and says it was not followed', () => {
    expect(classifySlackAnswer('api', 302, { location: 'http://x' }, '')).toMatchObject({
      ok: false,
      retryable: false,
      error: 'HTTP 302 (redirects are not followed)',
    });
  });

  it('fails a Web API 200 that is not JSON', () => {
    expect(classifySlackAnswer('api', 200, {}, '<html>')).toMatchObject({
      ok: false,
      retryable: false,
      error: 'Slack error: the answer is not JSON',
    });
  });
});

describe('renderSlackRequest', () => {
  it('posts chat.postMessage with a bearer token, masked in the record', async () => {
    const compiled = slackStep.compile(
      {
        id: 's',
        type: 'slack',
        token: '{{ $secrets.SLACK_TOKEN }}',
        channel: '#ops',
        text: 'hi {{ event.body.who }}',
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*{{ event.body.who }}*' } }],
      },
      'steps[0]',
    );
    const r = await renderSlackRequest(compiled, ctx, 'http://127.0.0.1:1/api/');
    expect(r.mode).toBe('api');
    expect(r.request.url).toBe('http://127.0.0.1:1/api/chat.postMessage');
    expect(r.request.headers.authorization).toBe('Bearer xoxb-secret-token');
    expect(r.recorded.headers.authorization).toBe('Bearer ***');
    expect(JSON.parse(r.payload.toString())).toEqual({
      channel: '#ops',
      text: 'hi Ada',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Ada*' } }],
    });
    expect(r.recorded.body).toEqual(JSON.parse(r.payload.toString()));
  });

  it('posts to the incoming webhook URL without Authorization', async () => {
    const compiled = slackStep.compile(
      { id: 's', type: 'slack', webhookUrl: '{{ $secrets.SLACK_HOOK }}', text: 'x' },
      'steps[0]',
    );
    const r = await renderSlackRequest(compiled, ctx, 'http://unused');
    expect(r.mode).toBe('webhook');
    expect(r.request.url).toBe('http://127.0.0.1:9/hook');
    expect(r.request.headers.authorization).toBeUndefined();
    expect(r.request.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('fails at once when blocks do not render to an array or the URL is bad', async () => {
    const blocks = slackStep.compile(
      { id: 's', type: 'slack', webhookUrl: 'http://127.0.0.1:9/', blocks: '{{ 5 }}' },
      'steps[0]',
    );
    await expect(renderSlackRequest(blocks, ctx, '')).rejects.toThrow('blocks must render to an array');
    const url = slackStep.compile({ id: 's', type: 'slack', webhookUrl: 'not a url', text: 'x' }, 'steps[0]');
    const err = await renderSlackRequest(url, ctx, '').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailure);
    expect((err as StepFailure).message).toBe('webhookUrl is not a valid URL');
    expect((err as StepFailure).retryable).toBe(false);
  });
});
