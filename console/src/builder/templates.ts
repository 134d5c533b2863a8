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
          { id: 'a1b2c3', message: 'Fix the login form' },
          { id: 'd4e5f6', message: 'Add tests' },
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
