import http from 'node:http';
import { AddressInfo } from 'node:net';
import Redis from 'ioredis';
import { bootApp, fire, TestApp } from './support/app';
import { metricValue, scrape } from './support/operate-metrics';
import { Receiver } from './support/receiver';
import { sleep, waitFor } from './support/wait-for';

/** A receiver that counts requests in flight; answers after `delayMs`. */
class SlowReceiver {
  inFlight = 0;
  maxInFlight = 0;
  done = 0;
  private server!: http.Server;
  url = '';

  constructor(private readonly delayMs: number) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      req.resume();
      setTimeout(() => {
        this.inFlight--;
        this.done++;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }, this.delayMs);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The most arrivals in any window of `windowMs` (sliding, not calendar seconds). */
function maxInWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i] - t[j] >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

const hostOf = (url: string): string => new URL(url).host;

describe('destinations: shared limits and a circuit breaker (API.md §10)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootApp({ RECONCILE_AFTER_MS: '1000' });
  });
  afterAll(async () => {
    await t.close();
  });

  async function flow(url: string, retry?: unknown): Promise<string> {
    const res = await t.api('POST', '/api/v1/flows', {
      name: 'dest',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'http',
          method: 'POST',
          url,
          body: { n: '{{ event.body.n }}' },
          ...(retry ? { retry } : {}),
        },
      ],
    });
    expect(res.status).toBe(201);
    return `${t.url}/hooks/${res.body.trigger.token}`;
  }

  async function execution(id: string): Promise<any> {
    return (await t.api('GET', `/api/v1/executions/${id}`)).body;
  }

  async function allSucceeded(ids: string[], timeoutMs: number): Promise<any[]> {
    return waitFor(async () => {
      const list = await Promise.all(ids.map(execution));
      return list.every((e) => e.status === 'succeeded') ? list : null;
    }, timeoutMs);
  }

  it('answers 400 for a bad name, no limit, an unknown field or a bad match; PUT, GET, list, DELETE', async () => {
    const ok = { match: ['api.example.com:8443', '*.example.org'], concurrency: 4 };
    expect((await t.api('PUT', '/api/v1/destinations/Bad_Name', ok)).status).toBe(400);
    expect((await t.api('PUT', `/api/v1/destinations/${'a'.repeat(64)}`, ok)).status).toBe(400);
    const none = await t.api('PUT', '/api/v1/destinations/x', { match: ['a.com'] });
    expect(none.status).toBe(400);
    expect(JSON.stringify(none.body.message)).toMatch(/rateLimit, concurrency or circuitBreaker/);
    const unknown = await t.api('PUT', '/api/v1/destinations/x', { ...ok, burst: 3 });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body.message)).toMatch(/burst/);
    const nested = await t.api('PUT', '/api/v1/destinations/x', {
      ...ok,
      rateLimit: { max: 1, perMs: 1000, x: 1 },
    });
    expect(nested.status).toBe(400);
    const badMatch = await t.api('PUT', '/api/v1/destinations/x', { ...ok, match: ['http://a.com/x'] });
    expect(badMatch.status).toBe(400);
    expect(JSON.stringify(badMatch.body.message)).toMatch(/match/);
    expect((await t.api('PUT', '/api/v1/destinations/x', { ...ok, match: [] })).status).toBe(400);
    const badLimit = await t.api('PUT', '/api/v1/destinations/x', {
      ...ok,
      rateLimit: { max: 0, perMs: 1000 },
    });
    expect(badLimit.status).toBe(400);

    const put = await t.api('PUT', '/api/v1/destinations/partner-api', ok);
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: 'partner-api', ...ok });
    const got = await t.api('GET', '/api/v1/destinations/partner-api');
    expect(got.status).toBe(200);
    expect(got.body.state).toEqual({ circuit: 'closed', inFlight: 0, waiting: 0 });
    const list = await t.api('GET', '/api/v1/destinations');
    expect(list.body.items.map((d: any) => d.name)).toContain('partner-api');
    expect((await t.api('DELETE', '/api/v1/destinations/partner-api')).status).toBe(204);
    expect((await t.api('GET', '/api/v1/destinations/partner-api')).status).toBe(404);
    expect((await t.api('DELETE', '/api/v1/destinations/partner-api')).status).toBe(404);
    const audit = await t.api('GET', '/api/v1/audit?limit=200');
    const actions = audit.body.items
      .filter((a: any) => a.target === 'destination:partner-api')
      .map((a: any) => a.action);
    expect(actions).toEqual(['destination.deleted', 'destination.set']);
  });

  it('paces 300 steps from three flows at 50/s: no second sees more than 52, all arrive, no attempt used', async () => {
    const rx = await new Receiver().start();
    try {
      const put = await t.api('PUT', '/api/v1/destinations/rate-50', {
        match: [hostOf(rx.url)],
        rateLimit: { max: 50, perMs: 1000 },
      });
      expect(put.status).toBe(200);
      const hooks = await Promise.all([1, 2, 3].map((f) => flow(`${rx.url}/rate/${f}`)));
      const ids: string[] = [];
      const events = Array.from({ length: 300 }, (_, n) => ({ hook: hooks[n % 3], n }));
      await inBatches(events, 30, async ({ hook, n }) => {
        const r = await fire(hook, { n });
        expect(r.status).toBe(202);
        ids.push(r.body.executionId);
      });
      // While the line drains, steps wait for the destination, visibly.
      const waiting = await waitFor(async () => {
        const page = await t.api('GET', '/api/v1/executions?status=waiting&limit=1');
        return page.body.items[0] ? execution(page.body.items[0].id) : null;
      }, 10_000);
      expect(waiting.steps[0]).toMatchObject({
        status: 'waiting',
        waitingFor: 'destination rate-50: rate limit',
      });
      expect(waiting.steps[0].attempts).toEqual([]);
      await waitFor(() => rx.requests.length >= 300, 30_000);
      const list = await allSucceeded(ids, 10_000);
      expect(list.every((e) => e.steps[0].attempts.length === 1)).toBe(true);
      expect(new Set(rx.requests.map((r) => (r.json as { n: number }).n)).size).toBe(300);
      expect(rx.requests.length).toBe(300);
      expect(
        maxInWindow(
          rx.requests.map((r) => r.at),
          1000,
        ),
      ).toBeLessThanOrEqual(52);
    } finally {
      await t.api('DELETE', '/api/v1/destinations/rate-50');
      await rx.stop();
    }
  });

  it('never has more than 2 in flight against a slow receiver with concurrency 2', async () => {
    const rx = await new SlowReceiver(300).start();
    try {
      await t.api('PUT', '/api/v1/destinations/slow-two', { match: [hostOf(rx.url)], concurrency: 2 });
      const hook = await flow(`${rx.url}/slow`);
      const ids = await Promise.all(
        Array.from({ length: 12 }, async (_, n) => (await fire(hook, { n })).body.executionId as string),
      );
      const state = await waitFor(async () => {
        const s = (await t.api('GET', '/api/v1/destinations/slow-two')).body.state;
        return s.waiting > 0 ? s : null;
      }, 5000);
      expect(state.inFlight).toBeLessThanOrEqual(2);
      const list = await allSucceeded(ids, 20_000);
      expect(rx.done).toBe(12);
      expect(rx.maxInFlight).toBe(2);
      expect(list.every((e) => e.steps[0].attempts.length === 1)).toBe(true);
      const after = (await t.api('GET', '/api/v1/destinations/slow-two')).body.state;
      expect(after).toEqual({ circuit: 'closed', inFlight: 0, waiting: 0 });
    } finally {
      await t.api('DELETE', '/api/v1/destinations/slow-two');
      await rx.stop();
    }
  });

  /** Fires `count` events at a flow whose receiver fails until told otherwise; waits for the circuit to open. */
  async function openCircuit(
    name: string,
    rx: Receiver,
    cooldownMs: number,
    count: number,
  ): Promise<string[]> {
    rx.script('/fragile', [{ status: 503, body: { down: true } }]);
    await t.api('PUT', `/api/v1/destinations/${name}`, {
      match: [hostOf(rx.url)],
      circuitBreaker: { failures: 3, cooldownMs },
    });
    const hook = await flow(`${rx.url}/fragile`, { attempts: 10, backoff: { type: 'fixed', delayMs: 20 } });
    const ids: string[] = [];
    for (let n = 0; n < count; n++) ids.push((await fire(hook, { n })).body.executionId);
    await waitFor(
      async () => (await t.api('GET', `/api/v1/destinations/${name}`)).body.state.circuit === 'open',
      10_000,
    );
    return ids;
  }

  /** Every execution waits for the circuit, and its attempt count holds still while it does. */
  async function parked(name: string, ids: string[]): Promise<number[]> {
    const list = await waitFor(async () => {
      const all = await Promise.all(ids.map(execution));
      return all.every((e) => e.steps[0].waitingFor === `destination ${name}: circuit open`) ? all : null;
    }, 10_000);
    expect(list.every((e) => e.status === 'waiting' && e.steps[0].status === 'waiting')).toBe(true);
    const counts = list.map((e) => e.steps[0].attempts.length);
    await sleep(600);
    expect((await Promise.all(ids.map(execution))).map((e) => e.steps[0].attempts.length)).toEqual(counts);
    return counts;
  }

  /** Each event reached the recovered receiver exactly once. */
  function deliveredOnce(rx: Receiver, count: number, since: number): void {
    const ok = rx.at('/fragile').filter((r) => r.at >= since);
    expect(ok.map((r) => (r.json as { n: number }).n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: count }, (_, n) => n),
    );
  }

  it('opens after 3 retryable failures in a row; steps wait without using attempts; reset drains them once', async () => {
    const rx = await new Receiver().start();
    try {
      const ids = await openCircuit('fragile-reset', rx, 600_000, 6);
      const counts = await parked('fragile-reset', ids);
      expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
      const got = (await t.api('GET', '/api/v1/destinations/fragile-reset')).body.state;
      expect(got).toMatchObject({ circuit: 'open', openedAt: expect.any(String), waiting: 6 });
      const text = await scrape(t.url);
      expect(metricValue(text, 'hookflow_destination_circuit_open', { destination: 'fragile-reset' })).toBe(
        1,
      );
      expect(metricValue(text, 'hookflow_destination_waiting', { destination: 'fragile-reset' })).toBe(6);

      rx.script('/fragile', [{ status: 200, body: { ok: true } }]);
      const since = Date.now();
      const reset = await t.api('POST', '/api/v1/destinations/fragile-reset/reset');
      expect(reset.status).toBe(200);
      expect(reset.body.state.circuit).toBe('closed');
      const list = await allSucceeded(ids, 10_000);
      deliveredOnce(rx, 6, since);
      expect(list.map((e) => e.steps[0].attempts.length)).toEqual(counts.map((c) => c + 1));
      const audit = await t.api('GET', '/api/v1/audit?limit=200');
      const mine = audit.body.items.filter((a: any) => a.target === 'destination:fragile-reset');
      expect(mine.map((a: any) => [a.action, a.actor])).toEqual([
        ['destination.circuit_closed', 'bootstrap'],
        ['destination.circuit_opened', 'system'],
        ['destination.set', 'bootstrap'],
      ]);
      const after = await scrape(t.url);
      expect(metricValue(after, 'hookflow_destination_circuit_open', { destination: 'fragile-reset' })).toBe(
        0,
      );
    } finally {
      await t.api('DELETE', '/api/v1/destinations/fragile-reset');
      await rx.stop();
    }
  });

  it('after the cooldown one probe goes; a recovered receiver closes the circuit and the rest follow', async () => {
    const rx = await new Receiver().start();
    try {
      const ids = await openCircuit('fragile-probe', rx, 1500, 5);
      await parked('fragile-probe', ids);
      rx.script('/fragile', [{ status: 200, body: { ok: true } }]);
      const since = Date.now();
      await allSucceeded(ids, 15_000);
      deliveredOnce(rx, 5, since);
      const state = (await t.api('GET', '/api/v1/destinations/fragile-probe')).body.state;
      expect(state).toEqual({ circuit: 'closed', inFlight: 0, waiting: 0 });
      const audit = await t.api('GET', '/api/v1/audit?action=destination.circuit_closed&limit=200');
      expect(
        audit.body.items.some((a: any) => a.target === 'destination:fragile-probe' && a.actor === 'system'),
      ).toBe(true);
    } finally {
      await t.api('DELETE', '/api/v1/destinations/fragile-probe');
      await rx.stop();
    }
  });

  it('deleting a destination frees what waits for it', async () => {
    const rx = await new Receiver().start();
    try {
      const ids = await openCircuit('fragile-delete', rx, 600_000, 4);
      await parked('fragile-delete', ids);
      rx.script('/fragile', [{ status: 200, body: { ok: true } }]);
      const since = Date.now();
      expect((await t.api('DELETE', '/api/v1/destinations/fragile-delete')).status).toBe(204);
      await allSucceeded(ids, 10_000);
      deliveredOnce(rx, 4, since);
    } finally {
      await rx.stop();
    }
  });

  it('paces Slack at 1 message per second per incoming webhook unless a destination says otherwise', async () => {
    const rx = await new Receiver().start();
    try {
      const res = await t.api('POST', '/api/v1/flows', {
        name: 'slack-paced',
        trigger: { type: 'webhook' },
        steps: [
          { id: 'post', type: 'slack', webhookUrl: `${rx.url}/slack-hook`, text: 'n={{ event.body.n }}' },
        ],
      });
      const hook = `${t.url}/hooks/${res.body.trigger.token}`;
      const ids = await Promise.all([0, 1, 2].map(async (n) => (await fire(hook, { n })).body.executionId));
      const list = await allSucceeded(ids, 10_000);
      const at = rx
        .at('/slack-hook')
        .map((r) => r.at)
        .sort((a, b) => a - b);
      expect(at).toHaveLength(3);
      // 1 s apart, less the scheduling slack of half a spacing
      expect(at[1] - at[0]).toBeGreaterThan(450);
      expect(at[2] - at[1]).toBeGreaterThan(450);
      expect(at[2] - at[0]).toBeGreaterThan(1500);
      expect(list.every((e) => e.steps[0].attempts.length === 1)).toBe(true);
    } finally {
      await rx.stop();
    }
  });

  it('steps waiting for a destination are still delivered after Redis loses its data', async () => {
    const rx = await new Receiver().start();
    const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
    try {
      const ids = await openCircuit('fragile-wipe', rx, 2000, 4);
      await parked('fragile-wipe', ids);
      rx.script('/fragile', [{ status: 200, body: { ok: true } }]);
      const since = Date.now();
      // Only this run's keys: its own QUEUE_PREFIX (test/run.js).
      const prefix = process.env.QUEUE_PREFIX ?? 'hookflow';
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await allSucceeded(ids, 20_000);
      deliveredOnce(rx, 4, since);
    } finally {
      redis.disconnect();
      await t.api('DELETE', '/api/v1/destinations/fragile-wipe');
      await rx.stop();
    }
  });
});
