import http from 'node:http';
import { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The body exactly as received. */
  body: string;
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Sent as is when a string, else as JSON. */
  body?: unknown;
}

export type Responder = (req: Seen, countOnPath: number) => Answer;

/**
 * A loopback HTTP server for the outbound tests: binds any loopback address (127.0.0.2 for the
 * guard tests), records every request with its raw body, and answers through a function of the
 * request and how many requests its path has seen (1 for the first).
 */
export class OutboundServer {
  readonly seen: Seen[] = [];
  private server!: http.Server;
  url = '';
  port = 0;

  constructor(
    private readonly host: string,
    private responder: Responder = () => ({ status: 200, body: { ok: true } }),
  ) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const seen: Seen = {
          method: req.method ?? '',
          path: (req.url ?? '/').split('?')[0],
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        };
        this.seen.push(seen);
        const answer = this.responder(seen, this.at(seen.path).length);
        const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? null);
        const type = typeof answer.body === 'string' ? 'text/plain' : 'application/json';
        res.writeHead(answer.status, { 'content-type': type, ...answer.headers });
        res.end(text);
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.host, resolve);
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
    return this;
  }

  respond(responder: Responder): void {
    this.responder = responder;
  }

  at(path: string): Seen[] {
    return this.seen.filter((s) => s.path === path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
