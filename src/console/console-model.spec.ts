// The console's pure core (console/src: form model, error placement, version diff), tested here
// because the unit suite runs src/**/*.spec.ts; the console's pages are tested in a browser
// (test/console-*.e2e-spec.ts).
import type { FlowShape } from '../../console/src/builder/draft';
import { draftToFlow } from '../../console/src/builder/draft-to-flow';
import { flowToDraft } from '../../console/src/builder/flow-to-draft';
import { fieldKeys, placeErrors, errorPosition } from '../../console/src/builder/field-errors';
import { TEMPLATES } from '../../console/src/builder/templates';
import { diffLines, stableJson } from '../../console/src/lib/diff';

/** The flow of API.md section 3, every field of it. */
const API_MD_FLOW: FlowShape = {
  name: 'GitHub push to Slack and our API',
  description: 'optional',
  enabled: true,
  trigger: {
    type: 'webhook',
    methods: ['POST'],
    verify: { scheme: 'github', secret: '{{ $secrets.GITHUB_HOOK }}' },
    idempotencyKey: 'event.headers."x-github-delivery"',
    response: { mode: 'async' },
  },
  filter: "event.body.ref = 'refs/heads/main'",
  steps: [
    {
      id: 'summary',
      type: 'transform',
      expression: "{ 'who': event.body.pusher.name, 'n': $count(event.body.commits) }",
    },
    {
      id: 'notify',
      type: 'slack',
      webhookUrl: '{{ $secrets.SLACK_HOOK }}',
      text: '{{ steps.summary.who }} pushed {{ steps.summary.n }} commits',
    },
    {
      id: 'forward',
      type: 'http',
      if: 'steps.summary.n > 0',
      method: 'POST',
      url: 'https://api.example.com/pushes',
      headers: { 'x-source': 'hookflow' },
      body: { repo: '{{ event.body.repository.full_name }}', commits: '{{ event.body.commits }}' },
      sign: { scheme: 'standard-webhooks', secret: '{{ $secrets.OUR_WHSEC }}' },
      retry: { attempts: 6, backoff: { type: 'exponential', delayMs: 1000, maxDelayMs: 600000 } },
      timeoutMs: 10000,
    },
  ],
};

const roundTrip = (f: FlowShape) => draftToFlow(flowToDraft(f));

describe('console form model', () => {
  it('round-trips the flow of API.md through the form unchanged', () => {
    const { flow, errors } = roundTrip(API_MD_FLOW);
    expect(errors).toEqual({});
    expect(flow).toEqual(API_MD_FLOW);
  });

  it('round-trips branch and forEach steps with nested steps, and onError, kept as they are', () => {
    const f: FlowShape = {
      name: 'control flow',
      enabled: true,
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'route',
          type: 'branch',
          if: 'event.body.ok',
          continueOnError: true,
          cases: [
            {
              id: 'paid',
              when: "type = 'paid'",
              steps: [{ id: 'a', type: 'http', method: 'POST', url: 'u' }],
            },
          ],
          default: [{ id: 'b', type: 'transform', expression: '1' }],
        },
        {
          id: 'each',
          type: 'forEach',
          items: 'event.body.items',
          concurrency: 4,
          retry: { attempts: 2 },
          steps: [{ id: 'c', type: 'slack', webhookUrl: 'w', text: '{{ item }}' }],
        },
      ],
      onError: { steps: [{ id: 'alert', type: 'transform', expression: 'error.message' }] },
    };
    const { flow, errors } = roundTrip(f);
    expect(errors).toEqual({});
    expect(flow).toEqual(f);
  });

  it('places a 400 about a nested step on that step inside its case or loop', () => {
    const draft = flowToDraft({
      name: 'n',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'route',
          type: 'branch',
          cases: [{ when: 'true', steps: [{ id: 'a', type: 'http', url: '' }] }],
        },
        { id: 'each', type: 'forEach', items: 'x', steps: [{ id: 'b', type: 'transform', expression: '' }] },
      ],
    });
    const placed = placeErrors(
      ['steps[0].cases[0].steps[0].url must be a URL', 'steps[1].steps[0].expression should not be empty'],
      fieldKeys(draft),
    );
    expect(placed.byField).toEqual({
      'steps[0].cases[0].steps[0].url': ['must be a URL'],
      'steps[1].steps[0].expression': ['should not be empty'],
    });
    expect(placed.unplaced).toEqual([]);
  });

  it.each([
    [
      'schedule',
      { type: 'schedule', cron: '*/10 * * * * *', timezone: 'Europe/Berlin', payload: { check: 'db' } },
    ],
    ['event', { type: 'event', event: 'order.paid' }],
    [
      'webhook with hmac verify and a sync answer',
      {
        type: 'webhook',
        methods: ['GET', 'POST'],
        verify: {
          scheme: 'hmac',
          secret: 's',
          header: 'X-Sig',
          algorithm: 'sha1',
          encoding: 'base64',
          prefix: 'sha1=',
        },
        response: { mode: 'sync', timeoutMs: 5000, step: 'a' },
        maxBody: '256kb',
      },
    ],
    [
      'webhook with token verify',
      { type: 'webhook', verify: { scheme: 'token', header: 'X-Gitlab-Token', value: 'v' } },
    ],
    [
      'webhook with basic verify',
      { type: 'webhook', verify: { scheme: 'basic', username: 'u', password: 'p' } },
    ],
    [
      'webhook with stripe tolerance',
      { type: 'webhook', verify: { scheme: 'stripe', secret: 's', toleranceSec: 60 } },
    ],
  ])('round-trips a %s trigger', (_name, trigger) => {
    const f: FlowShape = {
      name: 'x',
      enabled: false,
      trigger,
      steps: [{ id: 'a', type: 'transform', expression: '1' }],
    };
    expect(roundTrip(f).flow).toEqual(f);
  });

  it.each([
    [
      'slack Web API with blocks',
      { id: 's', type: 'slack', token: 't', channel: '#c', blocks: [{ type: 'section' }] },
    ],
    ['slack blocks as one expression', { id: 's', type: 'slack', webhookUrl: 'u', blocks: '{{ steps.b }}' }],
    ['delay ms', { id: 'd', type: 'delay', ms: 900000 }],
    ['delay until', { id: 'd', type: 'delay', until: '{{ event.body.at }}', continueOnError: true }],
    [
      'emit with data fields',
      { id: 'e', type: 'emit', event: 'order.{{ event.body.s }}', data: { o: '{{ event.body.id }}' } },
    ],
    ['emit with nested data', { id: 'e', type: 'emit', event: 'x', data: { a: { b: [1, 2] }, n: 3 } }],
    [
      'http with a text body and query',
      { id: 'h', type: 'http', method: 'PUT', url: 'u', query: { q: '1' }, body: 'a {{ x }}' },
    ],
    [
      'http with hmac signing and fixed backoff',
      {
        id: 'h',
        type: 'http',
        method: 'POST',
        url: 'u',
        name: 'Send',
        sign: {
          scheme: 'hmac',
          header: 'X-Signature',
          algorithm: 'sha512',
          encoding: 'hex',
          secret: 's',
          prefix: 'v=',
        },
        retry: { backoff: { type: 'fixed', delayMs: 500 } },
      },
    ],
    [
      'a field the form does not know',
      { id: 'h', type: 'transform', expression: '1', futureField: { kept: true } },
    ],
  ])('round-trips a step: %s', (_name, step) => {
    const f: FlowShape = { name: 'x', enabled: true, trigger: { type: 'webhook' }, steps: [step] };
    expect(roundTrip(f).flow).toEqual(f);
  });

  it('drops the trigger token and URL the API adds, which a PUT would refuse', () => {
    const stored = {
      ...API_MD_FLOW,
      trigger: { ...API_MD_FLOW.trigger, token: 'tok', url: 'http://x/hooks/tok' },
    };
    expect(roundTrip(stored).flow.trigger).toEqual(API_MD_FLOW.trigger);
  });

  it('sends numbers as numbers, and text typed into a number field as text for the server to name', () => {
    const d = flowToDraft({
      name: 'x',
      trigger: { type: 'webhook' },
      steps: [{ id: 'h', type: 'delay', ms: 5 }],
    });
    d.steps[0].ms = 'soon';
    d.steps[0].attempts = '3';
    expect(draftToFlow(d).flow.steps[0]).toEqual({
      id: 'h',
      type: 'delay',
      ms: 'soon',
      retry: { attempts: 3 },
    });
  });

  it('reports JSON that does not parse on its field, before anything is sent', () => {
    const d = flowToDraft({
      name: 'x',
      trigger: { type: 'webhook' },
      steps: [{ id: 'h', type: 'http', method: 'POST', url: 'u', body: { a: 1 } }],
    });
    expect(d.steps[0].bodyMode).toBe('json');
    d.steps[0].bodyText = '{ "a": ';
    expect(Object.keys(draftToFlow(d).errors)).toEqual(['steps[0].body']);
  });

  it('has templates that are valid flows for the form', () => {
    for (const t of TEMPLATES) expect(roundTrip(t.flow)).toEqual({ flow: t.flow, errors: {} });
  });
});

describe('console error placement', () => {
  const draft = flowToDraft(API_MD_FLOW);
  const keys = fieldKeys(draft);

  it('puts each server message on the deepest field its path names', () => {
    const placed = placeErrors(
      [
        'steps[0].expression: Expected ")" before end of expression (at position 23)',
        'steps[2].body.repo: Unexpected end of expression (at position 14)',
        'steps[2].retry.attempts must not be greater than 25',
        'property steps[1].colour should not exist',
        'trigger.verify.secret should not be empty',
        'filter: Expected "]" (at position 3)',
        'steps must hold at most 100 steps',
        'name must be shorter than or equal to 200 characters',
      ],
      keys,
    );
    expect(placed.byField).toEqual({
      'steps[0].expression': ['Expected ")" before end of expression (at position 23)'],
      'steps[2].body.repo': ['Unexpected end of expression (at position 14)'],
      'steps[2].retry.attempts': ['must not be greater than 25'],
      'steps[1]': ['unknown field "colour"'],
      'trigger.verify.secret': ['should not be empty'],
      filter: ['Expected "]" (at position 3)'],
      name: ['must be shorter than or equal to 200 characters'],
    });
    expect(placed.unplaced).toEqual(['steps must hold at most 100 steps']);
  });

  it('puts a message below a JSON box on the box, keeping the inner path', () => {
    const d = flowToDraft(API_MD_FLOW);
    d.steps[2].bodyMode = 'json';
    const placed = placeErrors(['steps[2].body.repo: bad (at position 2)'], fieldKeys(d));
    expect(placed.byField).toEqual({ 'steps[2].body': ['repo: bad (at position 2)'] });
  });

  it('does not take steps[1] for steps[10]', () => {
    const many = flowToDraft({
      ...API_MD_FLOW,
      steps: Array.from({ length: 11 }, (_, i) => ({ id: `s${i}`, type: 'transform', expression: '1' })),
    });
    const placed = placeErrors(['steps[10].expression: x'], fieldKeys(many));
    expect(Object.keys(placed.byField)).toEqual(['steps[10].expression']);
  });

  it('reads the position of an expression error', () => {
    expect(errorPosition('steps[0].expression: Expected ")" (at position 23)')).toBe(23);
    expect(errorPosition('steps[0].url must be a string')).toBeUndefined();
  });
});

describe('console version diff', () => {
  it('diffs by content, whatever the key order', () => {
    expect(stableJson({ b: 1, a: { d: 2, c: 3 } })).toBe(stableJson({ a: { c: 3, d: 2 }, b: 1 }));
  });

  it('marks removed and added lines and keeps the rest', () => {
    const before = stableJson({ name: 'a', steps: [1, 2, 3] });
    const after = stableJson({ name: 'b', steps: [1, 3, 4] });
    const lines = diffLines(before, after).filter((l) => l.kind !== 'same');
    expect(lines).toEqual([
      { kind: 'removed', text: '  "name": "a",' },
      { kind: 'added', text: '  "name": "b",' },
      { kind: 'removed', text: '    2,' },
      { kind: 'removed', text: '    3' },
      { kind: 'added', text: '    3,' },
      { kind: 'added', text: '    4' },
    ]);
    expect(diffLines(before, before).every((l) => l.kind === 'same')).toBe(true);
  });
});
