// `npm run bench` (API.md section 9): starts hookflow (MODE=all, fresh database and queue prefix), a
// receiver and a load generator as separate processes, and measures accept throughput, drain and
// loss, end-to-end latency at fixed rates, 3-step executions/s and peak RSS.
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

const root = join(__dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const API_KEY = 'bench-key';
const ENGINE_PORT = Number(process.env.BENCH_PORT ?? 3917);
const DRAIN_TIMEOUT_MS = 180_000;

interface LoadResult {
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSec: number;
  latency: { p50: number; p99: number; max: number };
  acceptedIds: string[];
}

interface Arrival {
  id: string;
  sentAt: number;
  at: number;
  path: string;
}

function log(line: string): void {
  process.stdout.write(`bench: ${line}\n`);
}

function tsNode(script: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join(__dirname, script), ...args],
    {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
}

function firstLine(proc: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('timed out waiting for output')), timeoutMs);
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl !== -1) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    proc.on('exit', () => reject(new Error(`process exited early: ${out}`)));
  });
}

function allOutput(proc: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    proc.on('exit', () => resolve(out));
  });
}

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${ENGINE_PORT}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.status === 204 ? undefined : res.json();
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function round(n: number, digits = 1): number {
  return Number.isFinite(n) ? Number(n.toFixed(digits)) : n;
}

async function arrivals(receiverUrl: string): Promise<Arrival[]> {
  return (await (await fetch(`${receiverUrl}/arrivals`)).json()) as Arrival[];
}

async function resetReceiver(receiverUrl: string): Promise<void> {
  await fetch(`${receiverUrl}/reset`, { method: 'POST' });
}

/** Waits until every accepted id arrived at `path` (or the bound passes); returns the arrivals. */
async function drain(
  receiverUrl: string,
  ids: string[],
  path: string,
): Promise<{ list: Arrival[]; lost: number }> {
  const want = new Set(ids);
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let list: Arrival[] = [];
  while (Date.now() < deadline) {
    list = (await arrivals(receiverUrl)).filter((a) => a.path === path);
    const got = new Set(list.map((a) => a.id));
    let missing = 0;
    for (const id of want) if (!got.has(id)) missing++;
    if (missing === 0) return { list, lost: 0 };
    await new Promise((r) => setTimeout(r, 250));
  }
  const got = new Set(list.map((a) => a.id));
  return { list, lost: [...want].filter((id) => !got.has(id)).length };
}

/** Closed loop (rate 0: autocannon, as fast as `connections` allow) or open loop at a fixed rate. */
async function load(hook: string, seconds: number, connections: number, rate: number): Promise<LoadResult> {
  const proc =
    rate > 0
      ? tsNode('paced.ts', [hook, String(seconds), String(rate)])
      : tsNode('load.ts', [hook, String(seconds), String(connections), String(rate)]);
  const out = await allOutput(proc);
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as LoadResult;
}

/** CPU time in ms used so far by the whole machine (all but idle and iowait), or by one process. Linux only. */
function cpuMs(pid?: number): number {
  try {
    if (pid === undefined) {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 10;
    }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return (f[11] + f[12]) * 10;
  } catch {
    return NaN;
  }
}

/** CPU spent between two readings per event: steadier across runs than events/s on a shared machine. */
function cpuPerEvent(from: { machine: number; engine: number }, pids: number[], events: number) {
  const engine = pids.reduce((n, pid) => n + cpuMs(pid), 0);
  return {
    machineCpuMsPerEvent: round((cpuMs() - from.machine) / events, 3),
    engineCpuMsPerEvent: round((engine - from.engine) / events, 3),
  };
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return round(kb / 1024);
}

// BENCH_FANOUT_ITEMS (up to 10,000, a forEach's maxItems) makes a longer run for a profile.
const FANOUT_ITEMS = Number(process.env.BENCH_FANOUT_ITEMS ?? 1000);

/** API.md section 9: one webhook whose forEach posts each of 1,000 items (concurrency 16) to the receiver. */
async function fanout(receiverUrl: string): Promise<Record<string, number>> {
  await resetReceiver(receiverUrl);
  const flow = await api('POST', '/api/v1/flows', {
    name: 'bench fan-out',
    trigger: { type: 'webhook' },
    steps: [
      {
        id: 'each',
        type: 'forEach',
        items: 'event.body.items',
        concurrency: 16,
        steps: [
          {
            id: 'post',
            type: 'http',
            method: 'POST',
            url: `${receiverUrl}/fanout`,
            body: { id: '{{ item }}', sentAt: '{{ event.body.sentAt }}' },
          },
        ],
      },
    ],
  });
  const ids = Array.from({ length: FANOUT_ITEMS }, (_, i) => `item-${i}`);
  log(`fan-out: one webhook, forEach of ${FANOUT_ITEMS} items, concurrency 16`);
  const sentAt = Date.now();
  const res = await fetch(`http://127.0.0.1:${ENGINE_PORT}/hooks/${flow.trigger.token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sentAt, items: ids }),
  });
  if (res.status !== 202) throw new Error(`fan-out webhook answered ${res.status}`);
  const { list, lost } = await drain(receiverUrl, ids, '/fanout');
  const at = list.map((a) => a.at).sort((a, b) => a - b);
  const out = {
    // From the webhook's send to the last delivery: the loop's start is part of the figure.
    itemsPerSec: round(list.length / ((at[at.length - 1] - sentAt) / 1000)),
    timeToFirstMs: round(at[0] - sentAt),
    timeToLastMs: round(at[at.length - 1] - sentAt),
    delivered: list.length,
    lost,
  };
  log(`fan-out: ${JSON.stringify(out)}`);
  return out;
}

const DEST_EVENTS = Number(process.env.BENCH_DEST_EVENTS ?? 2000);
const DEST_LIMIT = 200;

/** Fires `n` webhooks, 32 at a time, each with its id and send time; returns the ids answered 202. */
async function fireAll(token: string, prefix: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const sender = async (): Promise<void> => {
    while (next < n) {
      const id = `${prefix}-${next++}`;
      const res = await fetch(`http://127.0.0.1:${ENGINE_PORT}/hooks/${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, sentAt: Date.now() }),
      });
      if (res.status === 202) ids.push(id);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 32 }, () => sender()));
  return ids;
}

/** The most arrivals in any one-second window (sliding, not per calendar second). */
function maxInAnySecond(at: number[]): number {
  let most = 0;
  for (let lo = 0, hi = 0; hi < at.length; hi++) {
    while (at[hi] - at[lo] >= 1000) lo++;
    most = Math.max(most, hi - lo + 1);
  }
  return most;
}

/**
 * API.md section 9 / 10: webhook → http POST through a destination. Three runs of DEST_EVENTS events:
 * no destination, a destination that never limits (what the limiter costs per step), and a 200/s
 * limit (the rate the receiver saw over any one second; it may exceed the limit by 5 % at most).
 * The destination covers the receiver's host and port, so it is deleted before anything else runs.
 */
async function destination(receiverUrl: string): Promise<Record<string, number>> {
  const { host } = new URL(receiverUrl);
  const flow = await api('POST', '/api/v1/flows', {
    name: 'bench destination',
    trigger: { type: 'webhook' },
    steps: [
      {
        id: 'post',
        type: 'http',
        method: 'POST',
        url: `${receiverUrl}/dest`,
        body: { id: '{{ event.body.id }}', sentAt: '{{ event.body.sentAt }}' },
      },
    ],
  });
  const run = async (
    label: string,
    limit?: number,
  ): Promise<{ perSec: number; most: number; lost: number }> => {
    if (limit !== undefined)
      await api('PUT', '/api/v1/destinations/bench', {
        match: [host],
        rateLimit: { max: limit, perMs: 1000 },
      });
    try {
      await resetReceiver(receiverUrl);
      const t0 = Date.now();
      const ids = await fireAll(flow.trigger.token, label, DEST_EVENTS);
      const { list, lost } = await drain(receiverUrl, ids, '/dest');
      const at = list.map((a) => a.at).sort((a, b) => a - b);
      const out = {
        perSec: round(list.length / ((at[at.length - 1] - t0) / 1000)),
        most: maxInAnySecond(at),
        lost,
      };
      log(`destination ${label}: ${JSON.stringify(out)}`);
      return out;
    } finally {
      if (limit !== undefined) await api('DELETE', '/api/v1/destinations/bench');
    }
  };
  // The first run after the accept phase came out slower in each try, whichever it was (cause not
  // found): a warm-up run first, not counted.
  await run('warm-up');
  const none = await run('none');
  const unlimited = await run('never-limits', 1_000_000);
  const limited = await run('limited', DEST_LIMIT);
  return {
    events: DEST_EVENTS,
    deliveriesPerSecWithout: none.perSec,
    deliveriesPerSecNeverLimiting: unlimited.perSec,
    limitPerSec: DEST_LIMIT,
    limitedPerSec: limited.perSec,
    limitedMaxInAnySecond: limited.most,
    lost: none.lost + unlimited.lost + limited.lost,
  };
}

const AMQP_URL = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const AMQP_MESSAGES = Number(process.env.BENCH_AMQP_MESSAGES ?? 5000);
/** The trigger's prefetch; unset, the trigger's default (32) applies. */
const AMQP_PREFETCH = process.env.BENCH_AMQP_PREFETCH ? Number(process.env.BENCH_AMQP_PREFETCH) : undefined;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * API.md section 11 (issue 20): a backlog of AMQP_MESSAGES persistent messages (each with a message id)
 * in a durable RabbitMQ queue, drained by an `amqp` trigger → transform → http flow created once the
 * backlog is in. Per round: messages acked/s = the backlog over the time from the flow's creation until
 * every message's execution was committed (each is acked right after its commit); executions finished/s
 * = the backlog over the time until the last delivery reached the receiver. Three rounds, a fresh queue
 * and flow each; after each, the flow is deleted and the queue must hold nothing (nothing left unacked).
 */
async function amqpTrigger(
  receiverUrl: string,
  databaseUrl: string,
  enginePids: number[],
): Promise<Record<string, unknown>> {
  const { connect } = await import('amqplib');
  const conn = await connect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  const runs: Array<{
    ackedPerSec: number;
    finishedPerSec: number;
    lost: number;
    leftInQueue: number;
    machineCpuMsPerEvent: number;
    engineCpuMsPerEvent: number;
  }> = [];
  try {
    for (let pass = 0; pass < 3; pass++) {
      await resetReceiver(receiverUrl);
      const queue = `hookflow-bench-${randomBytes(4).toString('hex')}`;
      await ch.assertQueue(queue, { durable: true });
      const ids = Array.from({ length: AMQP_MESSAGES }, (_, i) => `amqp-${pass}-${i}`);
      const sentAt = Date.now();
      for (const id of ids)
        ch.sendToQueue(queue, Buffer.from(JSON.stringify({ id, sentAt, user: { name: 'ada' } })), {
          messageId: id,
          persistent: true,
          contentType: 'application/json',
        });
      await ch.waitForConfirms();
      log(`amqp ${pass + 1}/3: ${AMQP_MESSAGES} messages queued; creating the flow`);
      const t0 = Date.now();
      const cpu0 = { machine: cpuMs(), engine: enginePids.reduce((n, pid) => n + cpuMs(pid), 0) };
      const flow = await api('POST', '/api/v1/flows', {
        name: `bench amqp ${pass + 1}`,
        trigger: {
          type: 'amqp',
          url: AMQP_URL,
          queue,
          ...(AMQP_PREFETCH !== undefined ? { prefetch: AMQP_PREFETCH } : {}),
        },
        steps: [
          {
            id: 'shape',
            type: 'transform',
            expression: "{ 'id': event.body.id, 'sentAt': event.body.sentAt, 'who': event.body.user.name }",
          },
          {
            id: 'deliver',
            type: 'http',
            method: 'POST',
            url: `${receiverUrl}/amqp`,
            body: '{{ steps.shape }}',
          },
        ],
      });
      if (typeof flow.id !== 'string') throw new Error(`amqp flow not created: ${JSON.stringify(flow)}`);
      // Committed executions, polled while the deliveries are awaited.
      let committedAt = NaN;
      const committed = (async () => {
        const deadline = Date.now() + DRAIN_TIMEOUT_MS;
        while (Date.now() < deadline) {
          const { rows } = await db.query('SELECT count(*)::int AS n FROM executions WHERE flow_id = $1', [
            flow.id,
          ]);
          if ((rows[0].n as number) >= AMQP_MESSAGES) {
            committedAt = Date.now();
            return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const { list, lost } = await drain(receiverUrl, ids, '/amqp');
      await committed;
      const cpu = cpuPerEvent(cpu0, enginePids, list.length);
      const lastAt = Math.max(...list.map((a) => a.at));
      // 204, no body: not through api(), which parses JSON.
      await fetch(`http://127.0.0.1:${ENGINE_PORT}/api/v1/flows/${flow.id as string}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      // A message the consumer held unacked goes back to the queue once its consumer is gone.
      const stopBy = Date.now() + 10_000;
      while ((await ch.checkQueue(queue)).consumerCount > 0 && Date.now() < stopBy)
        await new Promise((r) => setTimeout(r, 200));
      const leftInQueue = (await ch.checkQueue(queue)).messageCount;
      await ch.deleteQueue(queue);
      const run = {
        ackedPerSec: round(AMQP_MESSAGES / ((committedAt - t0) / 1000)),
        finishedPerSec: round(list.length / ((lastAt - t0) / 1000)),
        lost,
        leftInQueue,
        ...cpu,
      };
      log(`amqp ${pass + 1}/3: ${JSON.stringify(run)}`);
      runs.push(run);
    }
  } finally {
    await db.end().catch(() => undefined);
    await conn.close().catch(() => undefined);
  }
  return {
    messages: AMQP_MESSAGES,
    prefetch: AMQP_PREFETCH ?? 32,
    ackedPerSec: median(runs.map((r) => r.ackedPerSec)),
    finishedPerSec: median(runs.map((r) => r.finishedPerSec)),
    engineCpuMsPerEvent: median(runs.map((r) => r.engineCpuMsPerEvent)),
    runs,
    lost: runs.reduce((n, r) => n + r.lost + r.leftInQueue, 0),
  };
}

async function main(): Promise<void> {
  const suffix = `${Date.now()}_${randomBytes(2).toString('hex')}`;
  const dbName = `hookflow_bench_${suffix}`;
  const admin = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const receiver = tsNode('receiver.ts', []);
  const receiverUrl = `http://127.0.0.1:${await firstLine(receiver, 20_000)}`;
  // BENCH_NODE_ARGS lets a profiling run pass e.g. --cpu-prof to the engine.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_SPLIT=N runs the same engine as one MODE=api and N MODE=worker processes (API.md section 8).
  const workerCount = Math.max(0, Math.floor(Number(process.env.BENCH_SPLIT ?? 0)) || 0);
  const split = workerCount > 0;
  const secretsKey = randomBytes(32).toString('base64');
  const engineEnv = (mode: string): NodeJS.ProcessEnv => ({
    ...process.env,
    NODE_ENV: 'production',
    MODE: mode,
    PORT: String(ENGINE_PORT),
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`,
    QUEUE_PREFIX: `hfbench_${suffix}`,
    API_KEY,
    SECRETS_KEY: secretsKey,
    OUTBOUND_ALLOW: '127.0.0.1/32',
    LOG_LEVEL: 'warn',
    // More jobs in flight make bigger write batches; the README's Performance section says so.
    WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY ?? '64',
  });
  const spawnEngine = (mode: string): ChildProcess =>
    // BENCH_ENGINE=<path to main.js> runs another build (A/B pairs against a copy of dist/).
    spawn(process.execPath, [...nodeArgs, process.env.BENCH_ENGINE ?? join(root, 'dist', 'main.js')], {
      cwd: root,
      env: engineEnv(mode),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  const engine = spawnEngine(split ? 'api' : 'all');
  const workers = Array.from({ length: workerCount }, () => spawnEngine('worker'));
  let engineOut = '';
  engine.stdout?.on('data', (c: Buffer) => (engineOut += c.toString()));
  const started = Date.now();
  while (!engineOut.includes('listening on')) {
    // Bounded: several processes booting on a fresh database take turns at the migrations.
    if (Date.now() - started > 120_000 || engine.exitCode !== null) {
      for (const p of [engine, ...workers, receiver]) p.kill('SIGKILL');
      throw new Error(`engine did not start: ${engineOut}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const results: Record<string, unknown> = {};
  const enginePids = [engine.pid!, ...workers.map((w) => w.pid!)];
  const cpuNow = () => ({ machine: cpuMs(), engine: enginePids.reduce((n, pid) => n + cpuMs(pid), 0) });
  // BENCH_PHASES=accept,3step runs a subset (for profiling); the table needs all of them.
  const phases = new Set(
    (process.env.BENCH_PHASES ?? 'cold,accept,latency,3step,fanout,destination').split(','),
  );
  try {
    const twoStep = await api('POST', '/api/v1/flows', {
      name: 'bench 2-step',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'shape',
          type: 'transform',
          expression:
            "{ 'id': event.body.id, 'sentAt': event.body.sentAt, 'who': event.body.user.name, 'n': $count(event.body.items) }",
        },
        { id: 'deliver', type: 'http', method: 'POST', url: `${receiverUrl}/two`, body: '{{ steps.shape }}' },
      ],
    });
    const hook2 = `http://127.0.0.1:${ENGINE_PORT}/hooks/${twoStep.trigger.token}`;

    /**
     * Open loop on the 2-step flow (the rate is held whatever the answers): end-to-end percentiles
     * of what arrived and the CPU per event. BENCH_DUMP_DIR=<dir> keeps every arrival as
     * <name>.json, to line slow events up with GC or database logs.
     */
    const openLoop = async (name: string, seconds: number, connections: number, rate: number) => {
      await resetReceiver(receiverUrl);
      const cpu0 = cpuNow();
      const run = await load(hook2, seconds, connections, rate);
      const { list, lost } = await drain(receiverUrl, run.acceptedIds, '/two');
      const cpu = cpuPerEvent(cpu0, enginePids, list.length);
      const lat = list.map((a) => a.at - a.sentAt).sort((a, b) => a - b);
      if (process.env.BENCH_DUMP_DIR)
        writeFileSync(join(process.env.BENCH_DUMP_DIR, `${name}.json`), JSON.stringify(list));
      const latency = {
        p50Ms: round(percentile(lat, 50), 2),
        p95Ms: round(percentile(lat, 95), 2),
        p99Ms: round(percentile(lat, 99), 2),
      };
      return { latency, maxMs: round(lat[lat.length - 1], 2), sent: run.requests, lost, cpu };
    };

    // cold: 200 requests/s for 10 s straight after boot, before anything warmed the engine up
    // (issue 23: a burst on a fresh process once gave a p99 of 150 ms).
    if (phases.has('cold')) {
      log('cold start: 200 requests/s for 10 s');
      const { latency, maxMs, sent, lost } = await openLoop('cold200', 10, 10, 200);
      results.cold200 = { ...latency, maxMs, sent, lost };
      log(`cold start 200/s: ${JSON.stringify(results.cold200)}`);
      await resetReceiver(receiverUrl);
    }

    if (phases.has('accept')) {
      // accept + drain: closed loop, 32 connections.
      log(`accept: ${SECONDS} s closed loop, 32 connections`);
      const t0 = Date.now();
      const cpu0 = cpuNow();
      const accept = await load(hook2, SECONDS, 32, 0);
      const { list, lost } = await drain(receiverUrl, accept.acceptedIds, '/two');
      const acceptCpu = cpuPerEvent(cpu0, enginePids, list.length);
      const lastArrival = Math.max(...list.map((a) => a.at));
      const drainSec = (lastArrival - t0) / 1000;
      results.accept = {
        acceptedPerSec: round(accept.acceptedIds.length / accept.durationSec),
        p50Ms: accept.latency.p50,
        p99Ms: accept.latency.p99,
        requests: accept.requests,
        non2xx: accept.non2xx,
        errors: accept.errors,
      };
      results.drain = {
        deliveriesPerSec: round(list.length / drainSec),
        delivered: list.length,
        accepted: accept.acceptedIds.length,
        lost,
        ...acceptCpu,
      };
      log(`accept: ${JSON.stringify(results.accept)}`);
      log(`drain: ${JSON.stringify(results.drain)}`);
    }

    // latency at fixed rates (open loop: the rate is held whatever the answers).
    // BENCH_RATES=800 measures other fixed rates (CPU per event is steadiest below saturation).
    const rates = (process.env.BENCH_RATES ?? '100,500').split(',').map(Number);
    for (const rate of phases.has('latency') ? rates : []) {
      log(`latency: ${rate} requests/s for ${SECONDS} s`);
      const run = await openLoop(`latency${rate}`, SECONDS, Math.max(8, Math.ceil(rate / 20)), rate);
      results[`latency${rate}`] = { ...run.latency, sent: run.sent, lost: run.lost, ...run.cpu };
      log(`latency ${rate}/s: ${JSON.stringify(results[`latency${rate}`])}`);
    }

    if (phases.has('3step')) {
      // 3-step: transform → http → http.
      await resetReceiver(receiverUrl);
      const threeStep = await api('POST', '/api/v1/flows', {
        name: 'bench 3-step',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'shape',
            type: 'transform',
            expression: "{ 'id': event.body.id, 'sentAt': event.body.sentAt, 'who': event.body.user.name }",
          },
          {
            id: 'first',
            type: 'http',
            method: 'POST',
            url: `${receiverUrl}/first`,
            body: '{{ steps.shape }}',
          },
          {
            id: 'second',
            type: 'http',
            method: 'POST',
            url: `${receiverUrl}/second`,
            body: '{{ steps.shape }}',
          },
        ],
      });
      log(`3-step: ${SECONDS} s closed loop, 32 connections`);
      const t3 = Date.now();
      const cpu3 = cpuNow();
      const three = await load(
        `http://127.0.0.1:${ENGINE_PORT}/hooks/${threeStep.trigger.token}`,
        SECONDS,
        32,
        0,
      );
      const { list: done3, lost: lost3 } = await drain(receiverUrl, three.acceptedIds, '/second');
      const last3 = Math.max(...done3.map((a) => a.at));
      const threeCpu = cpuPerEvent(cpu3, enginePids, done3.length);
      results.threeStep = {
        executionsPerSec: round(done3.length / ((last3 - t3) / 1000)),
        executions: done3.length,
        lost: lost3,
        ...threeCpu,
      };
      log(`3-step: ${JSON.stringify(results.threeStep)}`);
    }
    if (phases.has('fanout')) results.fanout = await fanout(receiverUrl);
    if (phases.has('destination')) results.destination = await destination(receiverUrl);
    // Not in the default set: it needs RabbitMQ on 127.0.0.1:5672 (BENCH_AMQP_URL). BENCH_PHASES=accept,amqp
    if (phases.has('amqp'))
      results.amqp = await amqpTrigger(
        receiverUrl,
        `postgres://postgres@127.0.0.1:5432/${dbName}`,
        enginePids,
      );
    results.engineRssPeakMb = enginePids.reduce((n, pid) => n + peakRssMb(pid), 0);
  } finally {
    // BENCH_ENGINE_LOG=<file> keeps the engine's output (e.g. with BENCH_NODE_ARGS=--trace-gc).
    if (process.env.BENCH_ENGINE_LOG) writeFileSync(process.env.BENCH_ENGINE_LOG, engineOut);
    engine.kill('SIGTERM');
    for (const w of workers) w.kill('SIGTERM');
    receiver.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 2000));
    engine.kill('SIGKILL');
    for (const w of workers) w.kill('SIGKILL');
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
  const lostTotal = [
    'cold200',
    'drain',
    'latency100',
    'latency500',
    'threeStep',
    'fanout',
    'destination',
    'amqp',
  ].reduce((n, k) => n + ((results[k] as { lost?: number })?.lost ?? 0), 0);
  const out = {
    at: new Date().toISOString(),
    commit: process.env.GIT_COMMIT ?? '',
    seconds: SECONDS,
    ...results,
    lost: lostTotal,
    ok: lostTotal === 0,
  };
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(join(__dirname, 'results', 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);
  const a = (results.accept ?? {}) as Record<string, number>;
  const d = (results.drain ?? {}) as Record<string, number>;
  const c2 = (results.cold200 ?? {}) as Record<string, number>;
  const l1 = (results.latency100 ?? {}) as Record<string, number>;
  const l5 = (results.latency500 ?? {}) as Record<string, number>;
  const t = (results.threeStep ?? {}) as Record<string, number>;
  const f = (results.fanout ?? {}) as Record<string, number>;
  const q = (results.amqp ?? {}) as Record<string, number>;
  const dn = (results.destination ?? {}) as Record<string, number>;
  process.stdout.write(`
| metric | value |
|---|---|
| accepted webhooks/s (32 conns) | ${a.acceptedPerSec} |
| accept p50 / p99 ms | ${a.p50Ms} / ${a.p99Ms} |
| deliveries/s (drain) | ${d.deliveriesPerSec} |
| CPU ms per 2-step event, machine / engine | ${d.machineCpuMsPerEvent} / ${d.engineCpuMsPerEvent} |
| end-to-end at 200/s from a cold start p50 / p95 / p99 / max ms | ${c2.p50Ms} / ${c2.p95Ms} / ${c2.p99Ms} / ${c2.maxMs} |
| end-to-end at 100/s p50 / p95 / p99 ms | ${l1.p50Ms} / ${l1.p95Ms} / ${l1.p99Ms} |
| end-to-end at 500/s p50 / p95 / p99 ms | ${l5.p50Ms} / ${l5.p95Ms} / ${l5.p99Ms} |
| 3-step executions/s | ${t.executionsPerSec} |
| CPU ms per 3-step execution, machine / engine | ${t.machineCpuMsPerEvent} / ${t.engineCpuMsPerEvent} |
| fan-out: forEach of ${FANOUT_ITEMS} items (concurrency 16), items/s (target ≥ 2,000) · time to the last ms | ${f.itemsPerSec} · ${f.timeToLastMs} |
| destination: deliveries/s without one · through one that never limits | ${dn.deliveriesPerSecWithout} · ${dn.deliveriesPerSecNeverLimiting} |
| destination limited to ${dn.limitPerSec}/s: rate · most in any one second (≤ ${Math.floor((dn.limitPerSec ?? 0) * 1.05)}) | ${dn.limitedPerSec} · ${dn.limitedMaxInAnySecond} |
| amqp trigger → transform → http, ${q.messages} queued messages: acked/s (after the commit) · executions finished/s · engine CPU ms per message | ${q.ackedPerSec} · ${q.finishedPerSec} · ${q.engineCpuMsPerEvent} |
| engine peak RSS MB | ${String(results.engineRssPeakMb)} |
| lost | ${lostTotal} |
`);
  if (lostTotal > 0) {
    log('FAILED: accepted events were not delivered');
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
