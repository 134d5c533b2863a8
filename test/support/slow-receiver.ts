import http from 'node:http';
import { AddressInfo } from 'node:net';

/** One request as a SlowReceiver saw it: its JSON body, and how many were in flight as it arrived. */
export interface Arrival {
  path: string;
  body: any;
  /** Requests held at that moment, this one included. */
  inFlight: number;
  /** The same, counting only requests whose body has the same `k`. */
  inFlightForKey: number;
}

/**
 * A receiver on 127.0.0.1 that holds each answer for `delayMs` (per path, default 0) and counts the
 * requests it is holding, overall and per `body.k`: the most executions talking to it at once. A path
 * can answer 500 a number of times before it answers 200.
 */
export class SlowReceiver {
  readonly arrivals: Arrival[] = [];
  private inFlight = 0;
  private readonly inFlightByKey = new Map<string, number>();
  private readonly delays = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server!: http.Server;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = (req.url ?? '/').split('?')[0];
        let body: any = null;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
        } catch {
          // not JSON: counted without a key
        }
        const key = String(body?.k ?? '');
        this.inFlight++;
        this.inFlightByKey.set(key, (this.inFlightByKey.get(key) ?? 0) + 1);
        this.arrivals.push({
          path,
          body,
          inFlight: this.inFlight,
          inFlightForKey: this.inFlightByKey.get(key) ?? 0,
        });
        const failing = this.failures.get(path) ?? 0;
        if (failing > 0) this.failures.set(path, failing - 1);
        const timer = setTimeout(
          () => {
            this.timers.delete(timer);
            this.inFlight--;
            this.inFlightByKey.set(key, (this.inFlightByKey.get(key) ?? 1) - 1);
            if (res.destroyed) return;
            res.writeHead(failing > 0 ? 500 : 200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ ok: failing === 0 }));
          },
          this.delays.get(path) ?? 0,
        );
        this.timers.add(timer);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  delay(path: string, ms: number): void {
    this.delays.set(path, ms);
  }

  failFirst(path: string, times: number): void {
    this.failures.set(path, times);
  }

  at(path: string): Arrival[] {
    return this.arrivals.filter((a) => a.path === path);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Runs `fn` over `items` with at most `width` at a time; results in item order. */
export async function inParallel<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}
