// Open-loop load at a fixed rate, run as its own process: request i is sent at start + i/rate
// whatever happened to the earlier ones (autocannon's overallRate sends each second's share in a
// burst, which measures queueing, not latency). Prints one JSON line like load.ts.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const [url, seconds, rate] = process.argv.slice(2);
const total = Math.round(Number(seconds) * Number(rate));
const intervalMs = 1000 / Number(rate);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const target = new URL(url);
const now = (): number => performance.timeOrigin + performance.now();
const accepted: string[] = [];
const latencies: number[] = [];
// BENCH_DUMP_DIR: when each request was sent and answered, to split end-to-end time into accept and run.
const acks: { id: string; sentAt: number; ackAt: number; status: number }[] = [];
const dumpDir = process.env.BENCH_DUMP_DIR;
let errors = 0;
let non2xx = 0;
let done = 0;

function send(i: number): void {
  const id = `${process.pid}-${i}`;
  const started = performance.now();
  const sentAt = now();
  const body = JSON.stringify({ id, sentAt, user: { name: `user-${id}` }, items: [1, 2, 3] });
  const req = http.request(
    target,
    {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    },
    (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(performance.now() - started);
        if (dumpDir) acks.push({ id, sentAt, ackAt: now(), status: res.statusCode ?? 0 });
        if (res.statusCode === 202) accepted.push(id);
        else non2xx++;
        done++;
      });
    },
  );
  req.on('error', () => {
    errors++;
    done++;
  });
  req.end(body);
}

async function main(): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    send(i);
  }
  const deadline = performance.now() + 30_000;
  while (done < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  latencies.sort((a, b) => a - b);
  if (dumpDir) writeFileSync(join(dumpDir, `acks${rate}.json`), JSON.stringify(acks));
  const pct = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  process.stdout.write(
    `${JSON.stringify({
      requests: total,
      non2xx,
      errors,
      timeouts: total - done,
      durationSec: (performance.now() - start) / 1000,
      latency: { p50: pct(0.5), p99: pct(0.99), max: latencies[latencies.length - 1] ?? NaN },
      acceptedIds: accepted,
    })}\n`,
  );
  agent.destroy();
}

void main();
