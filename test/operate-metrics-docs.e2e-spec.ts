import { getQueueToken } from '@nestjs/bull';
import { RequestMethod } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { Queue } from 'bull';
import { bootApp, fire, TestApp } from './support/app';
import { metricValue, scrape } from './support/operate-metrics';
import { Receiver } from './support/receiver';
import { finished } from './support/flow-runs';
import { waitFor } from './support/wait-for';

/** Every route the Nest app registered, from the controllers' metadata: "GET /api/v1/flows/{id}". */
function registeredRoutes(t: TestApp): string[] {
  const routes = new Set<string>();
  for (const mod of t.app.get(ModulesContainer).values()) {
    for (const wrapper of mod.controllers.values()) {
      const ctrl = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (!ctrl) continue;
      const base = String(Reflect.getMetadata('path', ctrl) ?? '');
      for (const name of Object.getOwnPropertyNames(ctrl.prototype)) {
        const handler = (ctrl.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const sub = Reflect.getMetadata('path', handler) as string | undefined;
        const method = Reflect.getMetadata('method', handler) as RequestMethod | undefined;
        if (sub === undefined || method === undefined) continue;
        const path = `/${[base, sub]
          .flatMap((p) => p.split('/'))
          .filter(Boolean)
          .join('/')}`;
        routes.add(`${RequestMethod[method]} ${path.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
      }
    }
  }
  return [...routes].sort();
}

describe('operate: /metrics and the OpenAPI document', () => {
  let t: TestApp;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await bootApp();
  });
  afterAll(async () => {
    await t.close();
    await rx.stop();
  });

  it('counts webhooks by result, executions, step attempts and HTTP requests as traffic flows', async () => {
    const flow = await t.api('POST', '/api/v1/flows', {
      name: 'metered',
      trigger: { type: 'webhook', idempotencyKey: 'event.headers."x-id"' },
      filter: '$not(event.body.skip = true)',
      steps: [
        {
          id: 'send',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/metered`,
          body: { n: '{{ event.body.n }}' },
        },
      ],
    });
    expect(flow.status).toBe(201);
    const locked = await t.api('POST', '/api/v1/flows', {
      name: 'locked',
      trigger: { type: 'webhook', verify: { scheme: 'token', header: 'x-token', value: 'open-sesame' } },
      steps: [],
    });
    expect(locked.status).toBe(201);
    const hook = `${t.url}/hooks/${flow.body.trigger.token}`;
    const before = await scrape(t.url);

    const accepted = [];
    for (const n of [1, 2, 3]) {
      const res = await fire(hook, { n }, { 'x-id': `id-${n}` });
      expect(res.status).toBe(202);
      accepted.push(res.body.executionId);
    }
    expect((await fire(hook, { n: 1 }, { 'x-id': 'id-1' })).status).toBe(200);
    expect((await fire(hook, { skip: true }, { 'x-id': 'id-skip' })).body.status).toBe('filtered');
    expect((await fire(hook, undefined, {}, 'GET')).status).toBe(405);
    expect((await fire(hook, '{"broken":', { 'x-id': 'id-bad' })).status).toBe(400);
    expect((await fire(`${t.url}/hooks/${locked.body.trigger.token}`, {})).status).toBe(401);
    expect((await fetch(`${t.url}/no-such-route`)).status).toBe(404);
    for (const id of accepted) expect((await finished(t, id)).status).toBe('succeeded');

    const after = await scrape(t.url);
    const delta = (name: string, labels: Record<string, string> = {}): number =>
      metricValue(after, name, labels) - metricValue(before, name, labels);

    expect(delta('hookflow_webhooks_total', { result: 'accepted' })).toBe(3);
    expect(delta('hookflow_webhooks_total', { result: 'duplicate' })).toBe(1);
    expect(delta('hookflow_webhooks_total', { result: 'filtered' })).toBe(1);
    expect(delta('hookflow_webhooks_total', { result: 'unauthorized' })).toBe(1);
    expect(delta('hookflow_webhooks_total', { result: 'unauthorized', reason: 'token' })).toBe(1);
    expect(delta('hookflow_webhooks_total', { result: 'rejected' })).toBe(2);
    expect(delta('hookflow_webhooks_total', { result: 'rejected', reason: 'method' })).toBe(1);
    expect(delta('hookflow_webhooks_total', { result: 'rejected', reason: 'malformed' })).toBe(1);

    expect(delta('hookflow_executions_total', { status: 'succeeded' })).toBe(3);
    expect(delta('hookflow_executions_total', { status: 'filtered' })).toBe(1);
    expect(delta('hookflow_step_attempts_total', { type: 'http', outcome: 'succeeded' })).toBe(3);
    expect(delta('hookflow_step_attempts_total', { type: 'http', outcome: 'failed' })).toBe(0);
    expect(delta('hookflow_step_attempt_duration_seconds_count', { type: 'http' })).toBe(3);
    expect(delta('hookflow_step_attempt_duration_seconds_bucket', { type: 'http', le: '+Inf' })).toBe(3);

    // HTTP requests by route pattern and status: the token never becomes a label.
    const route = { method: 'POST', route: '/hooks/:token' };
    expect(delta('hookflow_http_requests_total', { ...route, status: '202' })).toBe(4);
    expect(delta('hookflow_http_requests_total', { ...route, status: '200' })).toBe(1);
    expect(delta('hookflow_http_requests_total', { ...route, status: '400' })).toBe(1);
    expect(delta('hookflow_http_requests_total', { ...route, status: '401' })).toBe(1);
    expect(
      delta('hookflow_http_requests_total', { method: 'GET', route: '/hooks/:token', status: '405' }),
    ).toBe(1);
    expect(delta('hookflow_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(
      1,
    );
    expect(
      delta('hookflow_http_requests_total', {
        method: 'GET',
        route: '/api/v1/executions/:id',
        status: '200',
      }),
    ).toBeGreaterThanOrEqual(3);
    expect(delta('hookflow_http_request_duration_seconds_count', route)).toBe(7);
    expect(after).not.toContain(flow.body.trigger.token);
    expect(after).not.toContain('/no-such-route');

    expect(after).toContain('# TYPE hookflow_reconciler_requeued_total counter');
    expect(after).toContain('# TYPE hookflow_process_resident_memory_bytes gauge');
  });

  it('reports queue depth and delayed jobs as Bull counts them', async () => {
    rx.script('/later', [{ status: 503 }, { status: 200 }]);
    const flow = await t.api('POST', '/api/v1/flows', {
      name: 'backing-off',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'http',
          method: 'POST',
          url: `${rx.url}/later`,
          retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 60_000 } },
        },
      ],
    });
    const { executionId } = (await fire(`${t.url}/hooks/${flow.body.trigger.token}`, {})).body;
    await waitFor(
      async () => (await t.api('GET', `/api/v1/executions/${executionId}`)).body.status === 'waiting',
      15_000,
    );
    const queue = t.app.get<Queue>(getQueueToken('steps'));
    await waitFor(async () => {
      const text = await scrape(t.url);
      const delayed = await queue.getDelayedCount();
      const waiting = await queue.getWaitingCount();
      return (
        delayed >= 1 &&
        metricValue(text, 'hookflow_queue_jobs', { state: 'delayed' }) === delayed &&
        metricValue(text, 'hookflow_queue_jobs', { state: 'waiting' }) === waiting
      );
    }, 10_000);
    const text = await scrape(t.url);
    for (const state of ['waiting', 'active', 'delayed', 'failed']) {
      expect(text).toMatch(new RegExp(`^hookflow_queue_jobs\\{state="${state}"\\} \\d+$`, 'm'));
    }
    expect((await t.api('POST', `/api/v1/executions/${executionId}/cancel`)).status).toBe(200);
  });

  it('serves /metrics and /health without a key', async () => {
    const metrics = await fetch(`${t.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const health = await fetch(`${t.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'ok',
      info: { postgres: { status: 'up' }, redis: { status: 'up' } },
    });
  });

  it('serves a valid OpenAPI 3 document that lists every /api/v1 route', async () => {
    const res = await fetch(`${t.url}/docs-json`);
    expect(res.status).toBe(200);
    const doc: any = await res.json();
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toMatchObject({ title: 'hookflow', version: expect.any(String) });
    expect(typeof doc.paths).toBe('object');

    const registered = registeredRoutes(t).filter((r) => r.split(' ')[1].startsWith('/api/v1'));
    // The operate routes are there for sure; the rest is whatever the app registers.
    expect(registered).toEqual(
      expect.arrayContaining([
        'POST /api/v1/api-keys',
        'GET /api/v1/api-keys',
        'DELETE /api/v1/api-keys/{id}',
        'GET /api/v1/audit',
        'GET /api/v1/flows',
        'GET /api/v1/executions/{id}',
      ]),
    );
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith('/api/v1'))
      .flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      )
      .sort();
    expect(documented).toEqual(registered);

    // Bodies and answers come from the DTOs.
    const create = doc.paths['/api/v1/api-keys'].post;
    expect(create.requestBody.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/CreateApiKeyDto',
    );
    expect(doc.components.schemas.CreateApiKeyDto.required).toEqual(['name']);
    expect(create.responses['201'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/CreatedApiKeyDto',
    );
    expect(doc.components.schemas.CreatedApiKeyDto.required).toEqual(['id', 'name', 'key', 'createdAt']);
    const audit = doc.paths['/api/v1/audit'].get;
    expect(audit.parameters.map((p: any) => p.name).sort()).toEqual(['action', 'cursor', 'flowId', 'limit']);
    expect(audit.security).toEqual([{ bearer: [] }]);

    const ui = await fetch(`${t.url}/docs`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/text\/html/);
  });
});
