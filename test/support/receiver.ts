import http from 'node:http';
import { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json?: unknown;
  at: number;
}

export interface Scripted {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}

/**
 * A real HTTP server on 127.0.0.1 for outbound steps. Answers come from a script per path (first
 * request gets the first answer; the last answer repeats), default 200 `{"ok":true}`.
 */
export class Receiver {
  readonly requests: Received[] = [];
  private readonly scripts = new Map<string, Scripted[]>();
  private server!: http.Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = body ? JSON.parse(body) : undefined;
        } catch {
          json = undefined;
        }
        const path = (req.url ?? '/').split('?')[0];
        this.requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
          json,
          at: Date.now(),
        });
        const script = this.scripts.get(path);
        const answer =
          script && script.length > 1
            ? script.shift()!
            : (script?.[0] ?? { status: 200, body: { ok: true } });
        const send = (): void => {
          if (res.destroyed) return;
          res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
          res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
        };
        if (answer.delayMs) {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            send();
          }, answer.delayMs);
          this.timers.add(timer);
        }
        else send();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  script(path: string, answers: Scripted[]): void {
    this.scripts.set(path, [...answers]);
  }

  at(path: string): Received[] {
    return this.requests.filter((r) => r.url.split('?')[0] === path);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
