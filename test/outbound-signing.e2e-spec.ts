import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { bootApp, TestApp } from './support/app';
import { OutboundServer } from './support/outbound-server';
import { createFlow, runToEnd } from './support/flow-runs';

const fast = { attempts: 5, backoff: { type: 'fixed', delayMs: 50 } };

describe('outbound: signed http deliveries (standard-webhooks and hmac)', () => {
  let t: TestApp;
  let srv: OutboundServer;
  const whsec = `whsec_${randomBytes(32).toString('base64')}`;
  const hmacKey = `hmac-${randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    srv = await new OutboundServer('127.0.0.1').start();
    t = await bootApp();
    expect((await t.api('PUT', '/api/v1/secrets/OUR_WHSEC', { value: whsec })).status).toBe(200);
    expect((await t.api('PUT', '/api/v1/secrets/HMAC_KEY', { value: hmacKey })).status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await srv.stop();
  });

  async function run(steps: unknown[], payload: unknown = { order: 42 }): Promise<any> {
    const { hook } = await createFlow(t, { name: 'signed', steps });
    return runToEnd(t, hook, payload);
  }

  it('signs every attempt with the Standard Webhooks scheme; the same webhook-id on all three', async () => {
    srv.respond((_req, n) =>
      n < 3 ? { status: 503, body: { down: true } } : { status: 200, body: { ok: 1 } },
    );
    const ex = await run([
      {
        id: 'deliver',
        type: 'http',
        method: 'POST',
        url: `${srv.url}/swh`,
        body: { order: '{{ event.body.order }}', note: 'ünïcode ✓' },
        sign: { scheme: 'standard-webhooks', secret: '{{ $secrets.OUR_WHSEC }}' },
        retry: fast,
      },
    ]);
    expect(ex.status).toBe('succeeded');
    const seen = srv.at('/swh');
    expect(seen).toHaveLength(3);
    const wh = new Webhook(whsec);
    for (const req of seen) {
      const headers = {
        'webhook-id': String(req.headers['webhook-id']),
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature']),
      };
      // The library throws when the signature or the timestamp does not check out.
      expect(wh.verify(req.body, headers)).toEqual({ order: 42, note: 'ünïcode ✓' });
      expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(Math.abs(Number(headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    }
    const ids = seen.map((r) => r.headers['webhook-id']);
    expect(ids[0]).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(1);
    // A different secret does not verify.
    const other = new Webhook(`whsec_${randomBytes(32).toString('base64')}`);
    expect(() =>
      other.verify(seen[0].body, {
        'webhook-id': String(seen[0].headers['webhook-id']),
        'webhook-timestamp': String(seen[0].headers['webhook-timestamp']),
        'webhook-signature': String(seen[0].headers['webhook-signature']),
      }),
    ).toThrow();
    // The record shows the headers as sent, three attempts, and never the secret.
    const attempts = ex.steps[0].attempts;
    expect(attempts.map((a: any) => [a.n, a.response.status])).toEqual([
      [1, 503],
      [2, 503],
      [3, 200],
    ]);
    expect(attempts.map((a: any) => a.request.headers['webhook-id'])).toEqual(ids);
    expect(JSON.stringify(ex)).not.toContain(whsec.slice('whsec_'.length));
  });

  it('signs the body alone with hmac: header, algorithm, encoding and prefix as configured', async () => {
    srv.respond(() => ({ status: 204 }));
    const ex = await run(
      [
        {
          id: 'deliver',
          type: 'http',
          method: 'PUT',
          url: `${srv.url}/hmac`,
          body: '{{ $string(event.body) }}',
          headers: { 'content-type': 'application/json' },
          sign: {
            scheme: 'hmac',
            header: 'X-Hookflow-Signature',
            algorithm: 'sha512',
            encoding: 'base64',
            prefix: 'sha512=',
            secret: '{{ $secrets.HMAC_KEY }}',
          },
        },
        {
          id: 'hex',
          type: 'http',
          method: 'POST',
          url: `${srv.url}/hmac-hex`,
          body: { a: [1, 2, 3] },
          sign: {
            scheme: 'hmac',
            header: 'x-sig',
            algorithm: 'sha256',
            encoding: 'hex',
            secret: 'literal-key',
          },
        },
      ],
      { id: 7, text: 'héllo' },
    );
    expect(ex.status).toBe('succeeded');
    const [b64] = srv.at('/hmac');
    expect(b64.body).toBe('{"id":7,"text":"héllo"}');
    const expected = createHmac('sha512', hmacKey).update(Buffer.from(b64.body)).digest('base64');
    expect(b64.headers['x-hookflow-signature']).toBe(`sha512=${expected}`);
    expect(b64.headers['webhook-signature']).toBeUndefined();
    const [hex] = srv.at('/hmac-hex');
    expect(hex.headers['x-sig']).toBe(createHmac('sha256', 'literal-key').update(hex.body).digest('hex'));
    expect(JSON.stringify(ex)).not.toContain(hmacKey);
  });

  it('fails the step at once, sending nothing, when the signing secret is missing', async () => {
    const before = srv.seen.length;
    const ex = await run([
      {
        id: 'deliver',
        type: 'http',
        method: 'POST',
        url: `${srv.url}/unsigned`,
        sign: { scheme: 'standard-webhooks', secret: '{{ $secrets.NOT_SET }}' },
        retry: fast,
      },
    ]);
    expect(ex.status).toBe('failed');
    expect(ex.steps[0].status).toBe('failed');
    expect(ex.steps[0].attempts).toHaveLength(1);
    // An unset secret is an evaluation error naming it, never an empty string (API.md section 3).
    expect(ex.steps[0].error).toBe('secret NOT_SET is not set');
    expect(srv.seen.length).toBe(before);
  });

  it('refuses a bad sign block at save time, naming the field', async () => {
    const step = { id: 'x', type: 'http', method: 'POST', url: `${srv.url}/x` };
    const bad = async (sign: unknown): Promise<string[]> => {
      const res = await t.api('POST', '/api/v1/flows', {
        name: 'bad',
        trigger: { type: 'webhook' },
        steps: [{ ...step, sign }],
      });
      expect(res.status).toBe(400);
      return res.body.message as string[];
    };
    expect(await bad({ scheme: 'md5', secret: 'x' })).toEqual([
      'steps[0].sign.scheme must be one of: standard-webhooks, hmac',
    ]);
    expect(
      (await bad({ scheme: 'hmac', header: 'x', algorithm: 'md5', encoding: 'hex', secret: 's' })).join(),
    ).toContain('steps[0].sign.algorithm');
    expect((await bad({ scheme: 'standard-webhooks', secret: '{{ $secrets. }}' })).join()).toContain(
      'steps[0].sign.secret',
    );
  });
});
