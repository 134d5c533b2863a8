// Bench receiver: a plain HTTP server on 127.0.0.1 that records when each delivery arrives.
// Run as its own process by bench/run.ts; prints its port on stdout.
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

interface Arrival {
  id: string;
  sentAt: number;
  at: number;
  path: string;
}

let arrivals: Arrival[] = [];
const now = (): number => performance.timeOrigin + performance.now();

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = now();
    if (req.method === 'POST' && req.url === '/reset') {
      arrivals = [];
      res.end('{}');
      return;
    }
    if (req.method === 'GET' && req.url === '/arrivals') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(arrivals));
      return;
    }
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: string; sentAt?: number };
      arrivals.push({ id: String(body.id), sentAt: Number(body.sentAt), at, path: req.url ?? '' });
    } catch {
      // not one of ours
    }
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
