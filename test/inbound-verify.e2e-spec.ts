import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { bootApp, fire, TestApp } from './support/app';
import { waitFor } from './support/wait-for';
import { githubSign } from './support/github-sign';

// Signatures come from the providers' own libraries where one exists (GitHub, Stripe, Standard
// Webhooks); Slack, Shopify and the generic hmac are written out with node:crypto as their docs say.


const stripe = new Stripe('sk_test_hookflow');
const hmacOf = (alg: string, key: string, data: string, enc: 'hex' | 'base64') =>
  createHmac(alg, key).update(data).digest(enc);
const nowSec = () => Math.floor(Date.now() / 1000);
const TEN_MINUTES = 600;

type Headers = Record<string, string>;

interface SchemeCase {
  scheme: string;
  /** The stored secret (PUT /secrets/{secretName}) and one the sender must not use. */
  secretName: string;
  secret: string;
  wrongSecret: string;
  verify: Record<string, unknown>;
  sign(secret: string, body: string, tsSec: number): Promise<Headers> | Headers;
  required: string[];
  signsBody: boolean;
  timed: boolean;
}

const WHSEC = 'whsec_' + Buffer.from('e2e-standard-webhooks-secret-32b').toString('base64');
const WHSEC_OTHER = 'whsec_' + Buffer.from('e2e-other-standard-webhook-key-3').toString('base64');

const CASES: SchemeCase[] = [
  {
    scheme: 'github',
    secretName: 'GITHUB_HOOK',
    secret: 'gh-e2e-secret',
    wrongSecret: 'gh-e2e-other',
    verify: { scheme: 'github', secret: '{{ $secrets.GITHUB_HOOK }}' },
    sign: async (secret, body) => ({ 'x-hub-signature-256': await githubSign(secret, body) }),
    required: ['x-hub-signature-256'],
    signsBody: true,
    timed: false,
  },
  {
    scheme: 'stripe',
    secretName: 'STRIPE_WHSEC',
    secret: 'whsec_e2e_stripe',
    wrongSecret: 'whsec_e2e_other',
    verify: { scheme: 'stripe', secret: '{{ $secrets.STRIPE_WHSEC }}' },
    sign: (secret, payload, timestamp) => ({
      'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }),
    }),
    required: ['stripe-signature'],
    signsBody: true,
    timed: true,
  },
  {
    scheme: 'slack',
    secretName: 'SLACK_SIGNING',
    secret: 'slack-e2e-signing-secret',
    wrongSecret: 'slack-e2e-other-secret',
    verify: { scheme: 'slack', secret: '{{ $secrets.SLACK_SIGNING }}' },
    sign: (secret, body, ts) => ({
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': 'v0=' + hmacOf('sha256', secret, `v0:${ts}:${body}`, 'hex'),
    }),
    required: ['x-slack-signature', 'x-slack-request-timestamp'],
    signsBody: true,
    timed: true,
  },
  {
    scheme: 'shopify',
    secretName: 'SHOPIFY_SECRET',
    secret: 'shopify-e2e-secret',
    wrongSecret: 'shopify-e2e-other',
    verify: { scheme: 'shopify', secret: '{{ $secrets.SHOPIFY_SECRET }}' },
    sign: (secret, body) => ({ 'x-shopify-hmac-sha256': hmacOf('sha256', secret, body, 'base64') }),
    required: ['x-shopify-hmac-sha256'],
    signsBody: true,
    timed: false,
  },
  {
    scheme: 'standard-webhooks',
    secretName: 'SVIX_WHSEC',
    secret: WHSEC,
    wrongSecret: WHSEC_OTHER,
    verify: { scheme: 'standard-webhooks', secret: '{{ $secrets.SVIX_WHSEC }}' },
    sign: (secret, body, ts) => ({
      'webhook-id': 'msg_e2e_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': new Webhook(secret).sign('msg_e2e_1', new Date(ts * 1000), body),
    }),
    required: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
    signsBody: true,
    timed: true,
  },
  {
    scheme: 'hmac',
    secretName: 'GENERIC_HMAC',
    secret: 'generic-e2e-secret',
    wrongSecret: 'generic-e2e-other',
    verify: {
      scheme: 'hmac',
      secret: '{{ $secrets.GENERIC_HMAC }}',
      header: 'X-Signature',
      algorithm: 'sha512',
      encoding: 'base64',
      prefix: 'sha512=',
    },
    sign: (secret, body) => ({ 'x-signature': 'sha512=' + hmacOf('sha512', secret, body, 'base64') }),
    required: ['x-signature'],
    signsBody: true,
    timed: false,
  },
  {
    scheme: 'token',
    secretName: 'HOOK_TOKEN',
    secret: 'token-e2e-value',
    wrongSecret: 'token-e2e-other',
    verify: { scheme: 'token', header: 'X-Hook-Token', value: '{{ $secrets.HOOK_TOKEN }}' },
    sign: (value) => ({ 'x-hook-token': value }),
    required: ['x-hook-token'],
    signsBody: false,
    timed: false,
  },
  {
    scheme: 'basic',
    secretName: 'BASIC_PASSWORD',
    secret: 'b\u00e4sic-e2e:pass',
    wrongSecret: 'b\u00e4sic-e2e:nope',
    verify: { scheme: 'basic', username: 'hookflow', password: '{{ $secrets.BASIC_PASSWORD }}' },
    sign: (password) => ({
      authorization: 'Basic ' + Buffer.from(`hookflow:${password}`).toString('base64'),
    }),
    required: ['authorization'],
    signsBody: false,
    timed: false,
  },
];

const BODY = '{"id":"evt_e2e","amount":42,"note":"h\u00e9llo \u2603"}';
/** BODY with one byte changed (42 → 43). */
const TAMPERED = BODY.replace('42', '43');

describe('inbound verification: every scheme against its provider', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootApp();
    for (const c of CASES)
      expect((await t.api('PUT', `/api/v1/secrets/${c.secretName}`, { value: c.secret })).status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
  });

  async function createFlow(trigger: Record<string, unknown>): Promise<{ id: string; hook: string }> {
    const res = await t.api('POST', '/api/v1/flows', {
      name: 'verify',
      trigger: { type: 'webhook', ...trigger },
      steps: [{ id: 'echo', type: 'transform', expression: 'event.body.amount' }],
    });
    expect(res.status).toBe(201);
    return { id: res.body.id, hook: `${t.url}/hooks/${res.body.trigger.token}` };
  }

  async function executions(flowId: string): Promise<any[]> {
    const res = await t.api('GET', `/api/v1/executions?flowId=${flowId}&limit=200`);
    expect(res.status).toBe(200);
    return res.body.items;
  }

  async function unauthorizedCount(reason: string): Promise<number> {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('hookflow_webhooks_total{') &&
          l.includes('result="unauthorized"') &&
          l.includes(`reason="${reason}"`),
      );
    return line ? Number(line.split(' ').pop()) : 0;
  }

  for (const c of CASES) {
    it(`${c.scheme}: a signed request runs; a wrong secret, a changed body, a missing header${c.timed ? ', a timestamp 10 minutes off either way' : ''} → 401 and no execution`, async () => {
      const { id, hook } = await createFlow({ verify: c.verify });
      const metricBefore = await unauthorizedCount(c.scheme);

      const good = await c.sign(c.secret, BODY, nowSec());
      const accepted = await fire(hook, BODY, good);
      expect(accepted.status).toBe(202);
      const ex = await waitFor(async () => {
        const res = await t.api('GET', `/api/v1/executions/${accepted.body.executionId}`);
        return res.body.status === 'succeeded' ? res.body : null;
      });
      expect(ex.steps[0].output).toBe(42);

      const refused: Array<[string, string, Headers]> = [
        ['wrong secret', BODY, await c.sign(c.wrongSecret, BODY, nowSec())],
      ];
      if (c.signsBody) refused.push(['changed body byte', TAMPERED, good]);
      for (const name of c.required) {
        const headers = { ...good };
        delete headers[name];
        refused.push([`missing ${name}`, BODY, headers]);
      }
      if (c.timed) {
        refused.push(['10 minutes old', BODY, await c.sign(c.secret, BODY, nowSec() - TEN_MINUTES)]);
        refused.push(['10 minutes ahead', BODY, await c.sign(c.secret, BODY, nowSec() + TEN_MINUTES)]);
      }
      for (const [why, body, headers] of refused) {
        const res = await fire(hook, body, headers);
        expect({ why, status: res.status, error: res.body?.error }).toEqual({
          why,
          status: 401,
          error: 'Unauthorized',
        });
        expect(res.body.message).toMatch(/^verification failed: /);
        expect(JSON.stringify(res.body)).not.toContain(c.secret);
      }

      const runs = await executions(id);
      expect(runs.map((e) => e.id)).toEqual([accepted.body.executionId]);
      expect(await unauthorizedCount(c.scheme)).toBe(metricBefore + refused.length);
      // The stored event never holds the secret: token and basic credentials are masked once checked.
      const record = await t.api('GET', `/api/v1/executions/${accepted.body.executionId}`);
      expect(JSON.stringify(record.body)).not.toContain(c.secret);
      if (c.scheme === 'basic') expect(record.body.event.headers.authorization).toBe('***');
      if (c.scheme === 'token') expect(record.body.event.headers['x-hook-token']).toBe('***');
    });
  }

  it('stripe: any of several v1 signatures may match (secret roll), and toleranceSec widens the window', async () => {
    const { hook } = await createFlow({
      verify: { scheme: 'stripe', secret: '{{ $secrets.STRIPE_WHSEC }}' },
    });
    const ts = nowSec();
    const v1 = (secret: string) =>
      /v1=([0-9a-f]+)/.exec(
        stripe.webhooks.generateTestHeaderString({ payload: BODY, secret, timestamp: ts }),
      )![1];
    const rolled = `t=${ts},v1=${v1('whsec_previous')},v1=${v1('whsec_e2e_stripe')}`;
    expect((await fire(hook, BODY, { 'stripe-signature': rolled })).status).toBe(202);
    const stale = `t=${ts},v1=${v1('whsec_previous')}`;
    expect((await fire(hook, BODY, { 'stripe-signature': stale })).status).toBe(401);

    const { hook: lenient } = await createFlow({
      verify: { scheme: 'stripe', secret: '{{ $secrets.STRIPE_WHSEC }}', toleranceSec: 900 },
    });
    const old = stripe.webhooks.generateTestHeaderString({
      payload: BODY,
      secret: 'whsec_e2e_stripe',
      timestamp: nowSec() - TEN_MINUTES,
    });
    expect((await fire(lenient, BODY, { 'stripe-signature': old })).status).toBe(202);
  });

  it('standard-webhooks: one matching signature among several (key rotation) is enough', async () => {
    const { hook } = await createFlow({
      verify: { scheme: 'standard-webhooks', secret: '{{ $secrets.SVIX_WHSEC }}' },
    });
    const ts = nowSec();
    const at = new Date(ts * 1000);
    const headers = {
      'webhook-id': 'msg_rotation',
      'webhook-timestamp': String(ts),
      'webhook-signature': `${new Webhook(WHSEC_OTHER).sign('msg_rotation', at, BODY)} ${new Webhook(WHSEC).sign('msg_rotation', at, BODY)}`,
    };
    expect((await fire(hook, BODY, headers)).status).toBe(202);
  });

  it('refuses every request while the secret named in verify is not set, instead of checking an empty key', async () => {
    const { id, hook } = await createFlow({
      verify: { scheme: 'github', secret: '{{ $secrets.NOT_YET_SET }}' },
    });
    const before = await unauthorizedCount('verify_config');
    // What a forger would try: the HMAC under an empty key, or under the text an unset value renders to.
    for (const key of ['', 'null']) {
      const res = await fire(hook, BODY, {
        'x-hub-signature-256': 'sha256=' + hmacOf('sha256', key, BODY, 'hex'),
      });
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('verification failed: verify settings are incomplete');
    }
    expect(await unauthorizedCount('verify_config')).toBe(before + 2);
    expect(await executions(id)).toEqual([]);

    await t.api('PUT', '/api/v1/secrets/NOT_YET_SET', { value: 'now-it-is-set' });
    const res = await fire(hook, BODY, { 'x-hub-signature-256': await githubSign('now-it-is-set', BODY) });
    expect(res.status).toBe(202);
    expect(await t.api('DELETE', '/api/v1/secrets/NOT_YET_SET')).toMatchObject({ status: 204 });
    const after = await fire(hook, BODY, { 'x-hub-signature-256': await githubSign('now-it-is-set', BODY) });
    expect(after.status).toBe(401);
  });

  it('rotate-token: the new URL works and the old one answers 404 at once', async () => {
    const { id, hook } = await createFlow({});
    expect((await fire(hook, { n: 1 })).status).toBe(202);
    const rotated = await t.api('POST', `/api/v1/flows/${id}/rotate-token`);
    expect(rotated.status).toBe(200);
    const newHook = `${t.url}/hooks/${rotated.body.trigger.token}`;
    expect(newHook).not.toBe(hook);
    expect(rotated.body.trigger.url).toMatch(new RegExp(`/hooks/${rotated.body.trigger.token}$`));
    const old = await fire(hook, { n: 2 });
    expect(old.status).toBe(404);
    expect((await fire(newHook, { n: 3 })).status).toBe(202);
    expect((await t.api('GET', `/api/v1/flows/${id}`)).body.trigger.token).toBe(rotated.body.trigger.token);
    expect((await executions(id)).length).toBe(2);
  });
});
