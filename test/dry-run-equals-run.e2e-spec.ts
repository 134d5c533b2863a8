import { bootApp, fire, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { finished } from './support/flow-runs';
import { waitFor } from './support/wait-for';

/**
 * API.md section 2: a dry run "evaluates the flow ... exactly as a run would". For every step type the
 * request (or output) the dry run shows must be what a real run of the same event sent (the receiver
 * on 127.0.0.1 sees it) and recorded — with the engine's own settings, e.g. SLACK_API_URL.
 */
describe('dry run equals run for every step type', () => {
  let t: TestApp;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await bootApp({ SLACK_API_URL: `${rx.url}/slack-api` });
    expect((await t.api('PUT', '/api/v1/secrets/EQ_TOKEN', { value: 'xoxb-eq-s3cret' })).status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await rx.stop();
  });

  it('shows what the run sends and stores: transform, http, slack (webhook and token), delay, emit', async () => {
    const listener = await t.api('POST', '/api/v1/flows', {
      name: 'eq-listener',
      trigger: { type: 'event', event: 'eq.done' },
      steps: [],
    });
    expect(listener.status).toBe(201);
    const created = await t.api('POST', '/api/v1/flows', {
      name: 'eq',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'shape',
          type: 'transform',
          expression: '{ "who": event.body.who, "n": $count(event.body.items) }',
        },
        {
          id: 'call',
          type: 'http',
          method: 'PUT',
          url: `${rx.url}/eq/{{ steps.shape.who }}`,
          query: { n: '{{ steps.shape.n }}' },
          headers: { 'x-who': '{{ steps.shape.who }}', authorization: 'Bearer {{ $secrets.EQ_TOKEN }}' },
          body: { who: '{{ steps.shape.who }}', items: '{{ event.body.items }}' },
        },
        { id: 'hook', type: 'slack', webhookUrl: `${rx.url}/slack-hook`, text: 'hi {{ steps.shape.who }}' },
        {
          id: 'post',
          type: 'slack',
          token: '{{ $secrets.EQ_TOKEN }}',
          channel: '#eq',
          text: '{{ steps.shape.n }} items',
          blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*{{ steps.shape.who }}*' } }],
        },
        { id: 'pause', type: 'delay', ms: 200 },
        {
          id: 'tell',
          type: 'emit',
          event: 'eq.done',
          data: { who: '{{ steps.shape.who }}', n: '{{ steps.shape.n }}' },
        },
      ],
    });
    expect(created.status).toBe(201);
    const body = { who: 'ada', items: [1, 2, 3] };

    const dry = await t.api('POST', `/api/v1/flows/${created.body.id}/test`, { event: { body } });
    expect(dry.status).toBe(200);
    expect(dry.body.filter).toEqual({ matched: true });
    const preview = Object.fromEntries(dry.body.steps.map((s: any) => [s.id, s]));
    expect(dry.body.steps.map((s: any) => s.status)).toEqual(Array(6).fill('would_run'));

    const accepted = await fire(`${t.url}/hooks/${created.body.trigger.token}`, body);
    expect(accepted.status).toBe(202);
    const ex = await finished(t, accepted.body.executionId);
    expect(ex.status).toBe('succeeded');
    const run = Object.fromEntries(ex.steps.map((s: any) => [s.id, s]));

    // transform: the output
    expect(preview.shape.output).toEqual(run.shape.output);

    // http and slack: the recorded request, and what the receiver got
    const sent = (path: string) => {
      const got = rx.at(path);
      expect(got).toHaveLength(1);
      return got[0];
    };
    const same = (stepId: string, path: string, secretHeader?: [string, string]): void => {
      const shown = preview[stepId].request;
      expect(shown).toEqual(run[stepId].attempts[0].request);
      const got = sent(path);
      expect(got.method).toBe(shown.method);
      expect(`${rx.url}${got.url}`).toBe(shown.url);
      expect(got.json).toEqual(shown.body);
      for (const [name, value] of Object.entries(shown.headers as Record<string, string>)) {
        if (secretHeader && name === secretHeader[0]) {
          expect(value).toBe('Bearer ***');
          expect(got.headers[name]).toBe(secretHeader[1]);
        } else expect([name, got.headers[name]]).toEqual([name, value]);
      }
    };
    same('call', '/eq/ada', ['authorization', 'Bearer xoxb-eq-s3cret']);
    expect(preview.call.request.url).toBe(`${rx.url}/eq/ada?n=3`);
    same('hook', '/slack-hook');
    same('post', '/slack-api/chat.postMessage', ['authorization', 'Bearer xoxb-eq-s3cret']);
    expect(preview.post.request.url).toBe(`${rx.url}/slack-api/chat.postMessage`);

    // delay: the dry run says how long it would wait; the run waited at least that long
    expect(preview.pause.output.waitMs).toBe(200);
    expect(run.pause.output.waitedMs).toBeGreaterThanOrEqual(200);

    // emit: the event it would publish is the one published
    expect(preview.tell.request).toEqual({ event: 'eq.done', data: { who: 'ada', n: 3 } });
    expect(run.tell.attempts[0].request).toEqual(preview.tell.request);
    const heard = await waitFor(async () => {
      const list = await t.api('GET', `/api/v1/executions?flowId=${listener.body.id}`);
      return list.body.items[0] as { id: string } | undefined;
    });
    const event = (await t.api('GET', `/api/v1/executions/${heard.id}`)).body.event;
    expect({ event: event.name, data: event.body }).toEqual(preview.tell.request);
  });
});
