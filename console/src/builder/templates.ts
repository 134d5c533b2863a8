import type { FlowShape } from './draft';

// Starting points for a new flow, and sample events for "Try it". A template is an ordinary flow
// definition loaded into the form: nothing here is special to the server.

export interface FlowTemplate {
  id: string;
  label: string;
  flow: FlowShape;
}

export const TEMPLATES: FlowTemplate[] = [
  {
    id: 'blank',
    label: 'Blank webhook flow',
    flow: { name: '', enabled: false, trigger: { type: 'webhook' }, steps: [] },
  },
  {
    id: 'github-slack',
    label: 'GitHub push → Slack',
    flow: {
      name: 'GitHub push to Slack',
      enabled: false,
      trigger: {
        type: 'webhook',
        verify: { scheme: 'github', secret: '{{ $secrets.GITHUB_HOOK }}' },
        idempotencyKey: 'event.headers."x-github-delivery"',
      },
      filter: "event.headers.\"x-github-event\" = 'push' and event.body.ref = 'refs/heads/main'",
      steps: [
        {
          id: 'summary',
          type: 'transform',
          expression:
            "{ 'who': event.body.pusher.name, 'repo': event.body.repository.full_name, 'n': $count(event.body.commits) }",
        },
        {
          id: 'notify',
          type: 'slack',
          webhookUrl: '{{ $secrets.SLACK_HOOK }}',
          text: '{{ steps.summary.who }} pushed {{ steps.summary.n }} commits to {{ steps.summary.repo }}',
        },
      ],
    },
  },
  {
    // A forEach over the push's commits: one Slack message each, one after another, in order.
    id: 'github-commits-slack',
    label: 'GitHub push → one Slack message per commit',
    flow: {
      name: 'GitHub commits to Slack',
      enabled: false,
      trigger: {
        type: 'webhook',
        verify: { scheme: 'github', secret: '{{ $secrets.GITHUB_HOOK }}' },
        idempotencyKey: 'event.headers."x-github-delivery"',
      },
      filter: 'event.headers."x-github-event" = \'push\'',
      steps: [
        {
          id: 'each_commit',
          type: 'forEach',
          items: 'event.body.commits',
          steps: [
            {
              id: 'post_commit',
              type: 'slack',
              webhookUrl: '{{ $secrets.SLACK_HOOK }}',
              text: '{{ event.body.repository.full_name }}: {{ item.author.name }} committed "{{ item.message }}" {{ item.url }}',
            },
          ],
        },
      ],
    },
  },
  {
    id: 'stripe-http',
    label: 'Stripe payment → your API',
    flow: {
      name: 'Stripe payments to our API',
      enabled: false,
      trigger: {
        type: 'webhook',
        verify: { scheme: 'stripe', secret: '{{ $secrets.STRIPE_WHSEC }}' },
        idempotencyKey: 'event.body.id',
      },
      filter: "event.body.type = 'payment_intent.succeeded'",
      steps: [
        {
          id: 'forward',
          type: 'http',
          method: 'POST',
          url: 'https://api.example.com/payments',
          body: { payment: '{{ event.body.data.object.id }}', amount: '{{ event.body.data.object.amount }}' },
        },
      ],
    },
  },
  {
    // A branch on the event type: each case its own steps, anything else to the default.
    id: 'stripe-branch',
    label: 'Stripe event → branch by type',
    flow: {
      name: 'Stripe events by type',
      enabled: false,
      trigger: {
        type: 'webhook',
        verify: { scheme: 'stripe', secret: '{{ $secrets.STRIPE_WHSEC }}' },
        idempotencyKey: 'event.body.id',
      },
      steps: [
        {
          id: 'by_type',
          type: 'branch',
          cases: [
            {
              id: 'paid',
              when: "event.body.type = 'payment_intent.succeeded'",
              steps: [
                {
                  id: 'record_payment',
                  type: 'http',
                  method: 'POST',
                  url: 'https://api.example.com/payments',
                  body: {
                    payment: '{{ event.body.data.object.id }}',
                    amount: '{{ event.body.data.object.amount }}',
                  },
                },
              ],
            },
            {
              id: 'payment_failed',
              when: "event.body.type = 'payment_intent.payment_failed'",
              steps: [
                {
                  id: 'tell_support',
                  type: 'slack',
                  webhookUrl: '{{ $secrets.SLACK_HOOK }}',
                  text: 'Payment {{ event.body.data.object.id }} failed: {{ event.body.data.object.last_payment_error.message }}',
                },
              ],
            },
            {
              id: 'refunded',
              when: "event.body.type = 'charge.refunded'",
              steps: [
                {
                  id: 'record_refund',
                  type: 'http',
                  method: 'POST',
                  url: 'https://api.example.com/refunds',
                  body: { charge: '{{ event.body.data.object.id }}' },
                },
              ],
            },
          ],
          default: [{ id: 'ignored', type: 'transform', expression: "{ 'ignored': event.body.type }" }],
        },
      ],
    },
  },
  {
    id: 'schedule-http',
    label: 'Every morning → HTTP call',
    flow: {
      name: 'Morning report',
      enabled: false,
      trigger: { type: 'schedule', cron: '30 8 * * 1-5', timezone: 'Europe/Berlin' },
      steps: [
        {
          id: 'report',
          type: 'http',
          method: 'POST',
          url: 'https://api.example.com/report',
          body: { at: '{{ event.scheduledAt }}' },
        },
      ],
    },
  },
  {
    // One "error workflow" for every flow: each execution that ends failed publishes this event.
    id: 'failures-slack',
    label: 'Failures → Slack',
    flow: {
      name: 'Failures to Slack',
      enabled: false,
      trigger: { type: 'event', event: 'hookflow.execution.failed' },
      steps: [
        {
          id: 'post',
          type: 'slack',
          webhookUrl: '{{ $secrets.SLACK_HOOK }}',
          text: '{{ event.body.flowName }} failed at {{ event.body.stepId }}: {{ event.body.error }} (run {{ event.body.executionId }})',
        },
      ],
    },
  },
];

export interface SampleEvent {
  id: string;
  label: string;
  event: Record<string, unknown>;
}

export const SAMPLE_EVENTS: SampleEvent[] = [
  {
    id: 'github-push',
    label: 'GitHub push (sample)',
    event: {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      },
      body: {
        ref: 'refs/heads/main',
        repository: { full_name: 'octo-org/octo-repo' },
        pusher: { name: 'ada' },
        commits: [
          {
            id: 'a1b2c3',
            message: 'Fix the login form',
            url: 'https://github.com/octo-org/octo-repo/commit/a1b2c3',
            author: { name: 'Ada' },
          },
          {
            id: 'd4e5f6',
            message: 'Add tests',
            url: 'https://github.com/octo-org/octo-repo/commit/d4e5f6',
            author: { name: 'Grace' },
          },
        ],
      },
    },
  },
  {
    id: 'stripe-payment',
    label: 'Stripe payment_intent.succeeded (sample)',
    event: {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: {
        id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
        type: 'payment_intent.succeeded',
        data: { object: { id: 'pi_3MtwBwLkdIwHu7ix28a3tqPa', amount: 2000, currency: 'usd' } },
      },
    },
  },
  {
    id: 'execution-failed',
    label: 'hookflow.execution.failed (sample)',
    event: {
      name: 'hookflow.execution.failed',
      body: {
        executionId: '0b7c2f4e-5d1a-4c3b-9e8f-1a2b3c4d5e6f',
        flowId: '6f5e4d3c-2b1a-4f9e-8d7c-6b5a4f3e2d1c',
        flowName: 'orders to the ERP',
        stepId: 'erp',
        error: 'step erp failed: HTTP 503',
        at: '2026-03-01T09:14:07.000Z',
      },
    },
  },
  {
    id: 'json',
    label: 'A small JSON body',
    event: { method: 'POST', headers: { 'content-type': 'application/json' }, body: { hello: 'world' } },
  },
];
