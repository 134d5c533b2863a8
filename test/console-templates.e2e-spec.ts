import { SAMPLE_EVENTS, TEMPLATES } from '../console/src/builder/templates';
import { bootApp, TestApp } from './support/app';

// The new-flow templates are ordinary definitions: the server takes each one as it is, and a dry
// run of the control-flow ones with their sample events does what the label says.

const sample = (id: string) => SAMPLE_EVENTS.find((s) => s.id === id)!.event;
const template = (id: string) => {
  const found = TEMPLATES.find((t) => t.id === id);
  expect(found).toBeDefined();
  return found!;
};

describe('console templates against the server', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootApp();
    // The secrets the templates name; a dry run sends nothing, so any well-formed value does.
    for (const name of ['GITHUB_HOOK', 'SLACK_HOOK', 'STRIPE_WHSEC']) {
      const value = name === 'SLACK_HOOK' ? 'http://127.0.0.1:9/templates-slack' : 'templates-test-secret';
      const res = await t.api('GET', '/api/v1/secrets?limit=200');
      if (!(res.body.items as Array<{ name: string }>).some((s) => s.name === name))
        expect((await t.api('PUT', `/api/v1/secrets/${name}`, { value })).status).toBe(200);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('offers the three templates of issue 22', () => {
    expect(TEMPLATES.map((x) => x.label)).toEqual(
      expect.arrayContaining([
        'GitHub push → one Slack message per commit',
        'Stripe event → branch by type',
        'Failures → Slack',
      ]),
    );
  });

  it('every template is a valid definition (POST /flows/test answers 200)', async () => {
    for (const x of TEMPLATES.filter((y) => y.id !== 'blank')) {
      const res = await t.api('POST', '/api/v1/flows/test', { definition: x.flow, event: sample('json') });
      expect({ id: x.id, status: res.status, message: res.body.message }).toEqual({
        id: x.id,
        status: 200,
        message: undefined,
      });
    }
  });

  it('GitHub push → one Slack message per commit: a slack step per commit of the push', async () => {
    const res = await t.api('POST', '/api/v1/flows/test', {
      definition: template('github-commits-slack').flow,
      event: sample('github-push'),
    });
    expect(res.status).toBe(200);
    expect(res.body.filter).toEqual({ matched: true });
    const loop = res.body.steps.find((s: any) => s.id === 'each_commit');
    expect(loop.status).toBe('would_run');
    expect(loop.total).toBe(2);
    expect(
      loop.iterations.map((i: any) => i.steps.map((x: any) => [x.id, x.status, x.request.body.text])),
    ).toEqual([
      [
        [
          'post_commit',
          'would_run',
          'octo-org/octo-repo: Ada committed "Fix the login form" https://github.com/octo-org/octo-repo/commit/a1b2c3',
        ],
      ],
      [
        [
          'post_commit',
          'would_run',
          'octo-org/octo-repo: Grace committed "Add tests" https://github.com/octo-org/octo-repo/commit/d4e5f6',
        ],
      ],
    ]);
  });

  it('Stripe event → branch by type: the payment case for a payment, the default for anything else', async () => {
    const flow = template('stripe-branch').flow;
    const paid = await t.api('POST', '/api/v1/flows/test', {
      definition: flow,
      event: sample('stripe-payment'),
    });
    expect(paid.status).toBe(200);
    const branch = paid.body.steps.find((s: any) => s.id === 'by_type');
    expect(branch.output).toEqual({ matched: ['paid'] });
    expect(branch.steps.map((x: any) => [x.id, x.status, x.request.body])).toEqual([
      ['record_payment', 'would_run', { payment: 'pi_3MtwBwLkdIwHu7ix28a3tqPa', amount: 2000 }],
    ]);
    const other = await t.api('POST', '/api/v1/flows/test', {
      definition: flow,
      event: {
        ...sample('stripe-payment'),
        body: { id: 'evt_x', type: 'customer.created', data: { object: {} } },
      },
    });
    expect(other.status).toBe(200);
    const fallback = other.body.steps.find((s: any) => s.id === 'by_type');
    expect(fallback.output).toEqual({ matched: [] });
    expect(fallback.steps.map((x: any) => [x.id, x.status, x.output])).toEqual([
      ['ignored', 'would_run', { ignored: 'customer.created' }],
    ]);
  });
});
