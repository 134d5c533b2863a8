import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { resolve } from 'node:path';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { verifySignature, type VerifyResult } from 'src/triggers/verification/schemes';
import type { HmacAlgorithm, HmacEncoding, VerifyConfig } from 'src/flows/definitions/verify-config.dto';

const NOW_MS = Date.UTC(2025, 0, 15, 12, 0, 0);
const NOW_SEC = NOW_MS / 1000;
const TEN_MINUTES = 600;
const BODY = Buffer.from('{"id":"evt_1","object":"event","amount":42,"note":"h\u00e9llo"}', 'utf8');

// @octokit/webhooks-methods ships ESM only (its exports map has no `require` condition), which the
// CommonJS jest runtime cannot load; a child Node process imports it natively instead.
const GITHUB_SIGN_SCRIPT = `
import { sign } from '@octokit/webhooks-methods';
const { secret, payload } = JSON.parse(process.argv[1]);
process.stdout.write(await sign(secret, payload));
`;
function githubSign(secret: string, payload: string): string {
  return execFileSync(
    process.execPath,
    ['--input-type=module', '-e', GITHUB_SIGN_SCRIPT, JSON.stringify({ secret, payload })],
    { cwd: resolve(__dirname, '../../..'), encoding: 'utf8' },
  );
}

const stripe = new Stripe('sk_test_x');

function nodeHmac(
  algorithm: HmacAlgorithm,
  secret: string,
  data: Buffer | string,
  encoding: HmacEncoding,
): string {
  return createHmac(algorithm, secret).update(data).digest(encoding);
}

type Headers = Record<string, string | string[] | undefined>;

interface Fixture {
  name: string;
  secret: string;
  wrongSecret: string;
  config(secret: string): VerifyConfig;
  /** Headers a real sender would produce for `body`, signed at `tsSec`. */
  sign(secret: string, body: Buffer, tsSec: number): Headers;
  required: string[];
  signsBody: boolean;
  timed: boolean;
}

const WHSEC = 'whsec_' + Buffer.from('standard-webhooks-test-key-32byt').toString('base64');
const WHSEC_OTHER = 'whsec_' + Buffer.from('another-standard-webhooks-key-32').toString('base64');

const fixtures: Fixture[] = [
  {
    name: 'github',
    secret: 'gh-secret-value',
    wrongSecret: 'gh-other-value',
    config: (secret) => ({ scheme: 'github', secret }),
    sign: (secret, body) => ({ 'x-hub-signature-256': githubSign(secret, body.toString('utf8')) }),
    required: ['x-hub-signature-256'],
    signsBody: true,
    timed: false,
  },
  {
    name: 'stripe',
    secret: 'whsec_stripe_secret_value',
    wrongSecret: 'whsec_stripe_other_value',
    config: (secret) => ({ scheme: 'stripe', secret }),
    sign: (secret, body, tsSec) => ({
      'stripe-signature': stripe.webhooks.generateTestHeaderString({
        payload: body.toString('utf8'),
        secret,
        timestamp: tsSec,
      }),
    }),
    required: ['stripe-signature'],
    signsBody: true,
    timed: true,
  },
  {
    name: 'slack',
    secret: 'slack-signing-secret',
    wrongSecret: 'slack-other-secret',
    config: (secret) => ({ scheme: 'slack', secret }),
    sign: (secret, body, tsSec) => ({
      'x-slack-request-timestamp': String(tsSec),
      'x-slack-signature':
        'v0=' + nodeHmac('sha256', secret, Buffer.concat([Buffer.from(`v0:${tsSec}:`), body]), 'hex'),
    }),
    required: ['x-slack-signature', 'x-slack-request-timestamp'],
    signsBody: true,
    timed: true,
  },
  {
    name: 'shopify',
    secret: 'shopify-app-secret',
    wrongSecret: 'shopify-other-secret',
    config: (secret) => ({ scheme: 'shopify', secret }),
    sign: (secret, body) => ({ 'x-shopify-hmac-sha256': nodeHmac('sha256', secret, body, 'base64') }),
    required: ['x-shopify-hmac-sha256'],
    signsBody: true,
    timed: false,
  },
  {
    name: 'standard-webhooks',
    secret: WHSEC,
    wrongSecret: WHSEC_OTHER,
    config: (secret) => ({ scheme: 'standard-webhooks', secret }),
    sign: (secret, body, tsSec) => ({
      'webhook-id': 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
      'webhook-timestamp': String(tsSec),
      'webhook-signature': new Webhook(secret).sign(
        'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
        new Date(tsSec * 1000),
        body,
      ),
    }),
    required: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
    signsBody: true,
    timed: true,
  },
  {
    name: 'hmac (sha1, hex, prefix)',
    secret: 'generic-hmac-secret',
    wrongSecret: 'generic-other-secret',
    config: (secret) => ({
      scheme: 'hmac',
      secret,
      header: 'X-Signature',
      algorithm: 'sha1',
      encoding: 'hex',
      prefix: 'sha1=',
    }),
    sign: (secret, body) => ({ 'x-signature': 'sha1=' + nodeHmac('sha1', secret, body, 'hex') }),
    required: ['x-signature'],
    signsBody: true,
    timed: false,
  },
  {
    name: 'token',
    secret: 'static-token-value',
    wrongSecret: 'static-token-other',
    config: (value) => ({ scheme: 'token', header: 'X-Api-Token', value }),
    sign: (value) => ({ 'x-api-token': value }),
    required: ['x-api-token'],
    signsBody: false,
    timed: false,
  },
  {
    name: 'basic',
    secret: 'p\u00e4ss:word',
    wrongSecret: 'p\u00e4ss:wrong',
    config: (password) => ({ scheme: 'basic', username: 'hook', password }),
    sign: (password) => ({ authorization: 'Basic ' + Buffer.from(`hook:${password}`).toString('base64') }),
    required: ['authorization'],
    signsBody: false,
    timed: false,
  },
];

function expectFailure(result: VerifyResult, reason: string | RegExp, secret: string): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.reason).toMatch(reason);
  expect(result.reason).not.toContain(secret);
}

function without(headers: Headers, name: string): Headers {
  const copy = { ...headers };
  delete copy[name];
  return copy;
}

describe('verifySignature', () => {
  describe.each(fixtures)('$name', (f) => {
    const headers = f.sign(f.secret, BODY, NOW_SEC);

    it('accepts a request signed by the sender', () => {
      expect(verifySignature(f.config(f.secret), { headers, rawBody: BODY }, NOW_MS)).toEqual({ ok: true });
    });

    it('rejects a request signed with another secret', () => {
      const result = verifySignature(
        f.config(f.secret),
        { headers: f.sign(f.wrongSecret, BODY, NOW_SEC), rawBody: BODY },
        NOW_MS,
      );
      expectFailure(result, /mismatch|invalid credentials/, f.secret);
    });

    it('rejects a request whose header is missing', () => {
      for (const name of f.required) {
        const result = verifySignature(
          f.config(f.secret),
          { headers: without(headers, name), rawBody: BODY },
          NOW_MS,
        );
        expectFailure(result, /^missing .+ header$/, f.secret);
        if (!result.ok) expect(result.reason.toLowerCase()).toContain(name);
      }
    });

    it('uses the first value of a repeated header', () => {
      const repeated = Object.fromEntries(
        Object.entries(headers).map(([k, v]) => [k, [v as string, 'garbage']]),
      );
      expect(verifySignature(f.config(f.secret), { headers: repeated, rawBody: BODY }, NOW_MS)).toEqual({
        ok: true,
      });
    });

    if (f.signsBody) {
      it('rejects a body with one byte changed', () => {
        const tampered = Buffer.from(BODY);
        tampered[tampered.length - 3] ^= 0x01;
        const result = verifySignature(f.config(f.secret), { headers, rawBody: tampered }, NOW_MS);
        expectFailure(result, 'signature mismatch', f.secret);
      });
    }

    if (f.timed) {
      it('rejects a timestamp 10 minutes old', () => {
        const old = f.sign(f.secret, BODY, NOW_SEC - TEN_MINUTES);
        const result = verifySignature(f.config(f.secret), { headers: old, rawBody: BODY }, NOW_MS);
        expectFailure(result, 'timestamp outside tolerance', f.secret);
      });

      it('rejects a timestamp 10 minutes ahead', () => {
        const ahead = f.sign(f.secret, BODY, NOW_SEC + TEN_MINUTES);
        const result = verifySignature(f.config(f.secret), { headers: ahead, rawBody: BODY }, NOW_MS);
        expectFailure(result, 'timestamp outside tolerance', f.secret);
      });

      it('accepts a timestamp just inside the default 300 s tolerance either way', () => {
        for (const ts of [NOW_SEC - 300, NOW_SEC + 300]) {
          const signed = f.sign(f.secret, BODY, ts);
          expect(verifySignature(f.config(f.secret), { headers: signed, rawBody: BODY }, NOW_MS)).toEqual({
            ok: true,
          });
        }
      });

      it('honours toleranceSec', () => {
        const config = { ...f.config(f.secret), toleranceSec: 900 } as VerifyConfig;
        const old = f.sign(f.secret, BODY, NOW_SEC - TEN_MINUTES);
        expect(verifySignature(config, { headers: old, rawBody: BODY }, NOW_MS)).toEqual({ ok: true });
        const tight = { ...f.config(f.secret), toleranceSec: 60 } as VerifyConfig;
        const twoMinutes = f.sign(f.secret, BODY, NOW_SEC - 120);
        expectFailure(
          verifySignature(tight, { headers: twoMinutes, rawBody: BODY }, NOW_MS),
          'timestamp outside tolerance',
          f.secret,
        );
      });
    }
  });

  describe('stripe', () => {
    it('accepts any matching v1 signature, as during secret rotation', () => {
      const secret = 'whsec_current';
      const valid = stripe.webhooks.generateTestHeaderString({
        payload: BODY.toString(),
        secret,
        timestamp: NOW_SEC,
      });
      const stale = stripe.webhooks.generateTestHeaderString({
        payload: BODY.toString(),
        secret: 'whsec_previous',
        timestamp: NOW_SEC,
      });
      const staleV1 = /v1=([0-9a-f]+)/.exec(stale)?.[1] ?? '';
      const validV1 = /v1=([0-9a-f]+)/.exec(valid)?.[1] ?? '';
      const header = `t=${NOW_SEC},v1=${staleV1},v1=${validV1}`;
      const config: VerifyConfig = { scheme: 'stripe', secret };
      expect(
        verifySignature(config, { headers: { 'stripe-signature': header }, rawBody: BODY }, NOW_MS),
      ).toEqual({
        ok: true,
      });
      const onlyStale = `t=${NOW_SEC},v1=${staleV1}`;
      expectFailure(
        verifySignature(config, { headers: { 'stripe-signature': onlyStale }, rawBody: BODY }, NOW_MS),
        'signature mismatch',
        secret,
      );
    });

    it('rejects a header without a timestamp or a v1 signature', () => {
      const config: VerifyConfig = { scheme: 'stripe', secret: 'whsec_x' };
      for (const header of ['v1=abcd', `t=${NOW_SEC}`, `t=${NOW_SEC},v0=abcd`, 'garbage']) {
        expectFailure(
          verifySignature(config, { headers: { 'stripe-signature': header }, rawBody: BODY }, NOW_MS),
          /^malformed Stripe-Signature header/,
          'whsec_x',
        );
      }
    });
  });

  describe('standard-webhooks', () => {
    it('accepts a signature list where one entry matches, as during key rotation', () => {
      const id = 'msg_rotation';
      const at = new Date(NOW_MS);
      const oldSig = new Webhook(WHSEC_OTHER).sign(id, at, BODY);
      const newSig = new Webhook(WHSEC).sign(id, at, BODY);
      const headers = {
        'webhook-id': id,
        'webhook-timestamp': String(NOW_SEC),
        'webhook-signature': `${oldSig} ${newSig}`,
      };
      expect(
        verifySignature({ scheme: 'standard-webhooks', secret: WHSEC }, { headers, rawBody: BODY }, NOW_MS),
      ).toEqual({ ok: true });
    });

    it('rejects a signature made for another message id', () => {
      const headers = {
        'webhook-id': 'msg_a',
        'webhook-timestamp': String(NOW_SEC),
        'webhook-signature': new Webhook(WHSEC).sign('msg_b', new Date(NOW_MS), BODY),
      };
      expectFailure(
        verifySignature({ scheme: 'standard-webhooks', secret: WHSEC }, { headers, rawBody: BODY }, NOW_MS),
        'signature mismatch',
        WHSEC,
      );
    });
  });

  describe('hmac', () => {
    const secret = 'generic-hmac-secret';
    const cases: [HmacAlgorithm, HmacEncoding][] = [
      ['sha1', 'hex'],
      ['sha1', 'base64'],
      ['sha256', 'hex'],
      ['sha256', 'base64'],
      ['sha512', 'hex'],
      ['sha512', 'base64'],
    ];

    it.each(cases)('accepts %s/%s and rejects the wrong algorithm', (algorithm, encoding) => {
      const config: VerifyConfig = { scheme: 'hmac', secret, header: 'X-Sig', algorithm, encoding };
      const good = { 'x-sig': nodeHmac(algorithm, secret, BODY, encoding) };
      expect(verifySignature(config, { headers: good, rawBody: BODY }, NOW_MS)).toEqual({ ok: true });
      const other: HmacAlgorithm = algorithm === 'sha256' ? 'sha512' : 'sha256';
      const bad = { 'x-sig': nodeHmac(other, secret, BODY, encoding) };
      expectFailure(
        verifySignature(config, { headers: bad, rawBody: BODY }, NOW_MS),
        'signature mismatch',
        secret,
      );
    });

    it('requires the prefix when one is configured', () => {
      const config: VerifyConfig = {
        scheme: 'hmac',
        secret,
        header: 'X-Hub-Signature',
        algorithm: 'sha256',
        encoding: 'hex',
        prefix: 'sha256=',
      };
      const digest = nodeHmac('sha256', secret, BODY, 'hex');
      const ok = verifySignature(
        config,
        { headers: { 'x-hub-signature': `sha256=${digest}` }, rawBody: BODY },
        NOW_MS,
      );
      expect(ok).toEqual({ ok: true });
      const bare = verifySignature(config, { headers: { 'x-hub-signature': digest }, rawBody: BODY }, NOW_MS);
      expectFailure(bare, /prefix/, secret);
    });
  });

  describe('basic', () => {
    it('rejects a wrong password, a wrong user and a non-Basic scheme', () => {
      const config: VerifyConfig = { scheme: 'basic', username: 'hook', password: 'right' };
      const auth = (value: string) => ({ authorization: value });
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      expect(
        verifySignature(config, { headers: auth(`basic ${b64('hook:right')}`), rawBody: BODY }, NOW_MS),
      ).toEqual({
        ok: true,
      });
      expectFailure(
        verifySignature(config, { headers: auth(`Basic ${b64('hook:wrong')}`), rawBody: BODY }, NOW_MS),
        'invalid credentials',
        'right',
      );
      expectFailure(
        verifySignature(config, { headers: auth(`Basic ${b64('other:right')}`), rawBody: BODY }, NOW_MS),
        'invalid credentials',
        'right',
      );
      expectFailure(
        verifySignature(config, { headers: auth(`Bearer ${b64('hook:right')}`), rawBody: BODY }, NOW_MS),
        /not Basic/,
        'right',
      );
    });
  });

  it('never puts the secret or the expected signature in a reason', () => {
    const reasons: string[] = [];
    const leaks: string[] = [];
    for (const f of fixtures) {
      const good = f.sign(f.secret, BODY, NOW_SEC);
      leaks.push(f.secret, ...Object.values(good).map(String));
      const attempts: Headers[] = [
        f.sign(f.wrongSecret, BODY, NOW_SEC),
        ...(f.timed ? [f.sign(f.secret, BODY, NOW_SEC - TEN_MINUTES)] : []),
        ...f.required.map((name) => without(good, name)),
      ];
      for (const headers of attempts) {
        const result = verifySignature(
          f.config(f.secret),
          { headers, rawBody: Buffer.from('other body') },
          NOW_MS,
        );
        expect(result.ok).toBe(false);
        if (!result.ok) reasons.push(result.reason);
      }
    }
    for (const reason of reasons) {
      for (const leak of leaks) expect(reason).not.toContain(leak);
    }
  });
});
