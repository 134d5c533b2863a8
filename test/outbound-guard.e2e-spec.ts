import { bootApp, TestApp } from './support/app';
import { OutboundServer } from './support/outbound-server';
import { createFlow, runToEnd } from './support/flow-runs';

// Only loopback addresses are used here. 127.0.0.3 is the one allowed target; every refused
// target has a listener that must see nothing.
const fast = { attempts: 5, backoff: { type: 'fixed', delayMs: 50 } };

describe('outbound: the address guard end to end (OUTBOUND_ALLOW=127.0.0.3/32)', () => {
  let t: TestApp;
  let refused2: OutboundServer;
  let refused1: OutboundServer;
  let refused6: OutboundServer;
  let allowed: OutboundServer;

  beforeAll(async () => {
    refused2 = await new OutboundServer('127.0.0.2').start();
    refused1 = await new OutboundServer('127.0.0.1').start();
    refused6 = await new OutboundServer('::1').start();
    allowed = await new OutboundServer('127.0.0.3').start();
    t = await bootApp({ OUTBOUND_ALLOW: '127.0.0.3/32' });
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([refused2, refused1, refused6, allowed].map((s) => s.stop()));
  });

  async function run(step: Record<string, unknown>): Promise<any> {
    const { hook } = await createFlow(t, { name: 'guard', steps: [{ id: 'out', retry: fast, ...step }] });
    return runToEnd(t, hook, { x: 1 }, 15_000);
  }

  function expectRefused(ex: any, error: string): void {
    expect(ex.status).toBe('failed');
    expect(ex.steps[0].status).toBe('failed');
    expect(ex.steps[0].error).toBe(error);
    // One recorded attempt, not retried although five were allowed.
    expect(ex.steps[0].attempts).toHaveLength(1);
    expect(ex.steps[0].attempts[0]).toMatchObject({ n: 1, error });
    expect(ex.steps[0].attempts[0].response).toBeUndefined();
    expect(ex.error).toBe(`step out failed: ${error}`);
  }

  it.each([
    [
      '127.0.0.2',
      () => `http://127.0.0.2:${refused2.port}/x`,
      '127.0.0.2 is a loopback address; add it to OUTBOUND_ALLOW to allow it',
    ],
    [
      'localhost (resolves to 127.0.0.1)',
      () => `http://localhost:${refused1.port}/x`,
      'localhost resolves to 127.0.0.1, a loopback address; add the host or the address to OUTBOUND_ALLOW to allow it',
    ],
    [
      '[::1]',
      () => `http://[::1]:${refused6.port}/x`,
      '::1 is a loopback address; add it to OUTBOUND_ALLOW to allow it',
    ],
    [
      'an IPv4-mapped 127.0.0.2',
      () => `http://[::ffff:127.0.0.2]:${refused2.port}/x`,
      '::ffff:7f00:2 is a loopback address; add it to OUTBOUND_ALLOW to allow it',
    ],
  ])('refuses an http step to %s with one attempt and a reason', async (_label, url, error) => {
    const ex = await run({ type: 'http', method: 'POST', url: url(), body: { a: 1 } });
    expectRefused(ex, error);
    expect(ex.steps[0].attempts[0].request).toMatchObject({ method: 'POST' });
    expect(refused2.seen).toHaveLength(0);
    expect(refused1.seen).toHaveLength(0);
    expect(refused6.seen).toHaveLength(0);
  });

  it('refuses a slack step to a loopback webhook URL the same way', async () => {
    const ex = await run({ type: 'slack', webhookUrl: `http://127.0.0.2:${refused2.port}/hook`, text: 'hi' });
    expectRefused(ex, '127.0.0.2 is a loopback address; add it to OUTBOUND_ALLOW to allow it');
    expect(refused2.seen).toHaveLength(0);
  });

  it('refuses a scheme other than http(s)', async () => {
    const ex = await run({ type: 'http', method: 'GET', url: 'file:///etc/passwd' });
    expectRefused(ex, 'file: URLs are not allowed; use http or https');
  });

  it('lets an address in OUTBOUND_ALLOW through', async () => {
    allowed.respond(() => ({ status: 200, body: { fine: true } }));
    const ex = await run({ type: 'http', method: 'POST', url: `${allowed.url}/ok`, body: { a: 1 } });
    expect(ex.status).toBe('succeeded');
    expect(ex.steps[0].output).toMatchObject({ status: 200, body: { fine: true } });
    expect(allowed.at('/ok')).toHaveLength(1);
  });

  it('does not follow a redirect: a 3xx fails the step at once and the target sees nothing', async () => {
    allowed.respond((req) =>
      req.path === '/moved'
        ? { status: 302, headers: { location: `${allowed.url}/target` }, body: '' }
        : { status: 200, body: { reached: true } },
    );
    const ex = await run({ type: 'http', method: 'POST', url: `${allowed.url}/moved`, body: { a: 1 } });
    expect(ex.status).toBe('failed');
    expect(ex.steps[0].error).toBe('HTTP 302 (redirects are not followed)');
    expect(ex.steps[0].attempts).toHaveLength(1);
    expect(ex.steps[0].attempts[0].response).toMatchObject({
      status: 302,
      headers: { location: `${allowed.url}/target` },
    });
    expect(allowed.at('/moved')).toHaveLength(1);
    expect(allowed.at('/target')).toHaveLength(0);
  });
});
