import { Logger } from '@nestjs/common';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { AddressInfo, createServer, type Server } from 'node:net';
import { bootApp, TestApp } from './support/app';
import { sleep, waitFor } from './support/wait-for';
import { triggerStatus } from './support/flow-state';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
/** How long the attempts on a port that drops every connection are counted. */
const WATCH_MS = 7_000;
/**
 * With 1 s doubling (less up to 20 %) the attempts come at 0, ~1, ~3, ~7 s: at most 4 in WATCH_MS
 * even at the shortest waits (0, 0.8, 2.4, 5.6 s). A retry every second would make 7 or 8.
 */
const MAX_ATTEMPTS = 4;

/** A loopback port that accepts and at once drops every connection, counting them. */
async function dropper(): Promise<{ server: Server; port: number; attempts: () => number }> {
  let attempts = 0;
  const server = createServer((socket) => {
    attempts++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, attempts: () => attempts };
}

/** A loopback port nothing listens on: taken from the system, then let go. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function triggerOn(type: 'amqp' | 'mqtt' | 'nats', port: number): Record<string, unknown> {
  if (type === 'amqp') return { type, url: `amqp://127.0.0.1:${port}`, queue: 'q' };
  if (type === 'mqtt') return { type, url: `mqtt://127.0.0.1:${port}`, topic: 'hftest/backoff' };
  return { type, url: `nats://127.0.0.1:${port}`, subject: 'hftest.backoff' };
}

/** The consumers' log lines of one flow, per level (caught on Nest's Logger, then passed on). */
type Lines = Record<'log' | 'warn' | 'debug', string[]>;
type Method = (this: Logger, ...args: unknown[]) => void;

describe('broker triggers that cannot connect back off, log once and tell their next attempt', () => {
  let t: TestApp;
  let amqp: ChannelModel;
  let ch: Channel;
  const flows: string[] = [];
  const queues: string[] = [];
  const lines = new Map<string, Lines>();
  const levels = ['log', 'warn', 'debug'] as const;
  const originals = new Map(levels.map((l) => [l, Reflect.get(Logger.prototype, l) as Method]));

  beforeAll(async () => {
    for (const level of levels) {
      const original = originals.get(level)!;
      const spy: Method = function (...args) {
        const [fields, message] = args as [{ flowId?: unknown } | undefined, unknown];
        if (typeof fields?.flowId === 'string' && typeof message === 'string')
          lines.get(fields.flowId)?.[level].push(message);
        original.apply(this, args);
      };
      Reflect.set(Logger.prototype, level, spy);
    }
    // One thread: the consumers log where the spies above listen (a worker thread has its own Logger).
    t = await bootApp({ WORKER_THREADS: '0' });
    amqp = await connect(AMQP_URL);
    ch = await amqp.createChannel();
  });
  afterAll(async () => {
    for (const id of flows) await t.api('DELETE', `/api/v1/flows/${id}`);
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    await amqp.close().catch(() => undefined);
    await t.close();
    for (const [level, original] of originals) Reflect.set(Logger.prototype, level, original);
  });

  async function createFlow(trigger: Record<string, unknown>): Promise<string> {
    const res = await t.api('POST', '/api/v1/flows', {
      name: `backoff ${trigger.type as string}`,
      trigger,
      steps: [],
    });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    flows.push(id);
    lines.set(id, { log: [], warn: [], debug: [] });
    return id;
  }

  const status = (flowId: string): Promise<any> => triggerStatus(t, flowId);

  it('a closed port: the status shows the refusal and when the next attempt is', async () => {
    const port = await closedPort();
    const flowId = await createFlow(triggerOn('amqp', port));
    const s = await waitFor(async () => {
      const st = await status(flowId);
      return st?.state === 'error' && st.nextAttemptAt ? st : null;
    }, 10_000);
    expect(s.error).toMatch(/ECONNREFUSED/);
    const wait = Date.parse(s.nextAttemptAt as string) - Date.now();
    expect(wait).toBeGreaterThan(-5_000);
    expect(wait).toBeLessThanOrEqual(30_000);
  });

  it('each broker type: a port that drops every connection is tried at most 4 times in 7 s, with at most one warning', async () => {
    const ports = await Promise.all(
      (['amqp', 'mqtt', 'nats'] as const).map(async (type) => ({ type, ...(await dropper()) })),
    );
    try {
      const ids = await Promise.all(ports.map((p) => createFlow(triggerOn(p.type, p.port))));
      await waitFor(() => ports.every((p) => p.attempts() >= 1), 5_000);
      await sleep(WATCH_MS);
      for (const [i, p] of ports.entries()) {
        const what = `${p.type}: ${p.attempts()} attempts`;
        expect({ what, retried: p.attempts() >= 2 }).toEqual({ what, retried: true });
        expect({ what, bounded: p.attempts() <= MAX_ATTEMPTS }).toEqual({ what, bounded: true });
        const st = await status(ids[i]);
        expect(st.state).toBe('error');
        expect(typeof st.error).toBe('string');
        // Never a warning per attempt. (Whether the first failure has been logged by now depends on
        // how soon the client gives up its first connection: the test of a missing queue below
        // holds the one warning per outage exactly.)
        const log = lines.get(ids[i])!;
        expect({ what, warnings: log.warn.length <= 1 }).toEqual({ what, warnings: true });
        expect(log.warn.every((m) => m.startsWith('broker trigger '))).toBe(true);
        expect(log.debug.every((m) => m === 'broker trigger still cannot connect')).toBe(true);
      }
    } finally {
      for (const p of ports) p.server.close();
    }
  });

  it('a queue that is missing, then made, then deleted: one warning per outage, one info line per return', async () => {
    const queue = `hookflow-test-${randomBytes(5).toString('hex')}`;
    const flowId = await createFlow({ type: 'amqp', url: AMQP_URL, queue });
    const log = lines.get(flowId)!;
    // Two failed attempts: the second is at debug level.
    await waitFor(() => log.debug.length >= 1, 10_000);
    expect((await status(flowId)).error).toMatch(/NOT_FOUND/);
    await ch.assertQueue(queue, { durable: false });
    queues.push(queue);
    await waitFor(async () => (await status(flowId))?.state === 'connected', 15_000);
    expect(await status(flowId)).toEqual({ state: 'connected', since: expect.any(String) });
    expect(log.log).toEqual(['broker trigger connected again']);
    expect(log.warn).toEqual(['broker trigger cannot connect; retrying with backoff']);

    // The broker cancels the consumer of a deleted queue: the connection is lost, then refused.
    await ch.deleteQueue(queue);
    await waitFor(() => log.warn.length === 2, 10_000);
    expect(log.warn[1]).toBe('broker trigger lost its connection; reconnecting with backoff');
    await ch.assertQueue(queue, { durable: false });
    await waitFor(async () => (await status(flowId))?.state === 'connected', 15_000);
    await waitFor(() => log.log.length === 2, 5_000);
    expect(log.warn.length).toBe(2);
  });
});
