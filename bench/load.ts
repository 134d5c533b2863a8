// Bench load generator, run as its own process: autocannon against one trigger URL with a unique
// id and a send time in every body. Prints one JSON line with the totals and the accepted ids.
import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';

const [url, seconds, connections, rate] = process.argv.slice(2);
const accepted: string[] = [];
let seq = 0;
const now = (): number => performance.timeOrigin + performance.now();

const instance = autocannon(
  {
    url,
    method: 'POST',
    duration: Number(seconds),
    connections: Number(connections),
    ...(Number(rate) > 0 ? { overallRate: Number(rate) } : {}),
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (req, context: object) => {
          const id = `${process.pid}-${seq++}`;
          (context as { id?: string }).id = id;
          return {
            ...req,
            body: JSON.stringify({ id, sentAt: now(), user: { name: `user-${id}` }, items: [1, 2, 3] }),
          };
        },
        onResponse: (status, _body, context: object) => {
          // One request at a time per connection, so the context still holds this request's id.
          if (status === 202) accepted.push(String((context as { id?: string }).id));
        },
      },
    ],
  },
  (err, result) => {
    if (err) {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    }
    process.stdout.write(
      `${JSON.stringify({
        requests: result.requests.total,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        durationSec: result.duration,
        latency: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
        acceptedIds: accepted,
      })}\n`,
    );
  },
);
void instance.on('error', () => undefined);
