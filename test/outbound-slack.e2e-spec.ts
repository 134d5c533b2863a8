import { bootApp, TestApp } from './support/app';
import { Answer, OutboundServer, Seen } from './support/outbound-server';
import { createFlow, runToEnd } from './support/flow-runs';

const fast = { attempts: 5, backoff: { type: 'fixed', delayMs: 50 } };
const TOKEN = 'xoxb-good-0123456789-abcdef';

let busyCalls = 0;

/** A local stand-in for both Slack APIs, answering as Slack documents. */
function fakeSlack(req: Seen, n: number): Answer {
  if (req.path === '/api/chat.postMessage') {
    const body = JSON.parse(req.body) as { channel: string };
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${TOKEN}` && auth !== 'Bearer xoxb-literal-token-42')
      return { status: 200, body: { ok: false, error: 'invalid_auth' } };
    if (body.channel === '#missing') return { status: 200, body: { ok: false, error: 'channel_not_found' } };
    if (body.channel === '#private') return { status: 200, body: { ok: false, error: 'not_in_channel' } };
    if (body.channel === '#busy' && ++busyCalls === 1)
      return { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } };
    return { status: 200, body: { ok: true, channel: 'C0123', ts: '1700000000.000100', message: {} } };
  }
  if (req.path === '/services/good') return { status: 200, body: 'ok' };
  if (req.path === '/services/gone') return { status: 404, body: 'channel_not_found' };
  if (req.path === '/services/revoked') return { status: 403, body: 'invalid_token' };
  if (req.path === '/services/busy')
    return n === 1
      ? { status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' }
      : { status: 200, body: 'ok' };
  return { status: 404, body: 'no_service' };
}

describe('outbound: the slack step against a local fake of Slack', () => {
  let t: TestApp;
  let slack: OutboundServer;

  beforeAll(async () => {
    slack = await new OutboundServer('127.0.0.1', fakeSlack).start();
    t = await bootApp({ SLACK_API_URL: `${slack.url}/api` });
    expect((await t.api('PUT', '/api/v1/secrets/SLACK_TOKEN', { value: TOKEN })).status).toBe(200);
    expect(
      (await t.api('PUT', '/api/v1/secrets/SLACK_HOOK', { value: `${slack.url}/services/good` })).status,
    ).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await slack.stop();
  });

  async function run(step: Record<string, unknown>, payload: unknown = { who: 'Ada', n: 3 }): Promise<any> {
    const { hook } = await createFlow(t, {
      name: 'slack',
      steps: [{ id: 'notify', type: 'slack', retry: fast, ...step }],
    });
    return runToEnd(t, hook, payload);
  }

  it('posts with chat.postMessage: bearer token, JSON body, {ok, ts, channel}; the token never recorded', async () => {
    const ex = await run({
      token: '{{ $secrets.SLACK_TOKEN }}',
      channel: '#general',
      text: '{{ event.body.who }} pushed {{ event.body.n }} commits',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*{{ event.body.who }}*' } }],
    });
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0].output).toEqual({ ok: true, ts: '1700000000.000100', channel: 'C0123' });
    const [req] = slack.seen.filter((s) => s.body.includes('pushed 3'));
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/api/chat.postMessage');
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(req.body)).toEqual({
      channel: '#general',
      text: 'Ada pushed 3 commits',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Ada*' } }],
    });
    expect(ex.steps[0].attempts[0].request.headers.authorization).toBe('Bearer ***');
    expect(JSON.stringify(ex)).not.toContain(TOKEN);
  });

  it('masks a literal token in the record too', async () => {
    const ex = await run({ token: 'xoxb-literal-token-42', channel: '#general', text: 'literal' });
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0].attempts[0].request.headers.authorization).toBe('Bearer ***');
    expect(JSON.stringify(ex)).not.toContain('xoxb-literal-token-42');
  });

  it.each([
    ['invalid_auth', { token: 'xoxb-wrong', channel: '#general' }],
    ['channel_not_found', { token: '{{ $secrets.SLACK_TOKEN }}', channel: '#missing' }],
    ['not_in_channel', { token: '{{ $secrets.SLACK_TOKEN }}', channel: '#private' }],
  ])('fails at once on HTTP 200 ok:false %s, with the code in the error', async (code, target) => {
    const ex = await run({ ...target, text: `expect ${code}` });
    expect(ex.status).toBe('failed');
    expect(ex.steps[0].status).toBe('failed');
    expect(ex.steps[0].error).toBe(`Slack error: ${code}`);
    expect(ex.steps[0].attempts).toHaveLength(1);
    expect(ex.steps[0].attempts[0].response).toMatchObject({ status: 200, body: { ok: false, error: code } });
    expect(slack.seen.filter((s) => s.body.includes(`expect ${code}`))).toHaveLength(1);
  });

  it('retries a 429 ratelimited after Retry-After: 1, then succeeds', async () => {
    const ex = await run({ token: '{{ $secrets.SLACK_TOKEN }}', channel: '#busy', text: 'busy api' });
    expect(ex.status).toBe('succeeded');
    const attempts = ex.steps[0].attempts;
    expect(attempts.map((a: any) => [a.n, a.response.status, a.error])).toEqual([
      [1, 429, 'HTTP 429: ratelimited'],
      [2, 200, undefined],
    ]);
    const seen = slack.seen.filter((s) => s.body.includes('busy api'));
    expect(seen).toHaveLength(2);
    // Retry-After (1 s) wins over the 50 ms back-off; a little slack for timer granularity.
    expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(950);
  });

  it('posts to an incoming webhook and reads its plain "ok"', async () => {
    const ex = await run({ webhookUrl: '{{ $secrets.SLACK_HOOK }}', text: 'hello {{ event.body.who }}' });
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0].output).toEqual({ ok: true });
    const [req] = slack.at('/services/good').filter((s) => s.body.includes('hello Ada'));
    expect(JSON.parse(req.body)).toEqual({ text: 'hello Ada' });
    expect(req.headers.authorization).toBeUndefined();
    // The webhook URL is a secret: masked in the record.
    expect(ex.steps[0].attempts[0].request.url).toBe('***');
  });

  it.each([
    ['/services/gone', 'HTTP 404: channel_not_found'],
    ['/services/revoked', 'HTTP 403: invalid_token'],
  ])('fails at once when the incoming webhook %s answers an error', async (path, error) => {
    const ex = await run({ webhookUrl: `${slack.url}${path}`, text: 'x' });
    expect(ex.status).toBe('failed');
    expect(ex.steps[0].error).toBe(error);
    expect(ex.steps[0].attempts).toHaveLength(1);
  });

  it('retries an incoming webhook 429 after Retry-After, then succeeds', async () => {
    const ex = await run({ webhookUrl: `${slack.url}/services/busy`, text: 'busy hook' });
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0].attempts.map((a: any) => a.error)).toEqual(['HTTP 429: rate_limited', undefined]);
    const seen = slack.at('/services/busy');
    expect(seen).toHaveLength(2);
    expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(950);
  });

  it('refuses a definition mixing both targets, or without a message, naming the field', async () => {
    const save = (step: Record<string, unknown>) =>
      t.api('POST', '/api/v1/flows', {
        name: 'bad',
        trigger: { type: 'webhook' },
        steps: [{ id: 'notify', type: 'slack', ...step }],
      });
    const both = await save({ webhookUrl: 'https://hooks.example/x', token: 't', channel: '#c', text: 'x' });
    expect(both.status).toBe(400);
    expect(both.body.message).toContain('steps[0].webhookUrl cannot be combined with token or channel');
    const empty = await save({ token: 't', channel: '#c' });
    expect(empty.status).toBe(400);
    expect(empty.body.message).toContain('steps[0].text must be a string (text or blocks is required)');
  });
});
