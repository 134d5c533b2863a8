import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { TEST_API_KEY, TEST_SECRETS_KEY } from './app';
import { waitFor } from './wait-for';

/** A real hookflow process (`node dist/main.js`), for tests that kill and restart it. */
export class EngineProcess {
  private proc?: ChildProcess;
  output = '';

  constructor(private readonly env: Record<string, string>) {}

  get port(): number {
    return Number(this.env.PORT);
  }

  get url(): string {
    return `http://127.0.0.1:${this.env.PORT}`;
  }

  async start(timeoutMs = 30_000): Promise<this> {
    this.output = '';
    const proc = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'main.js')], {
      env: {
        ...process.env,
        API_KEY: TEST_API_KEY,
        SECRETS_KEY: TEST_SECRETS_KEY,
        OUTBOUND_ALLOW: '127.0.0.1/32',
        LOG_LEVEL: 'warn',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
    await waitFor(() => {
      if (proc.exitCode !== null) throw new Error(`engine exited: ${this.output}`);
      return /listening on|worker started/.test(this.output);
    }, timeoutMs);
    return this;
  }

  /** kill -9: no shutdown hooks, no cleanup. */
  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(sig);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  }
}

let nextPort = 39_000 + (process.pid % 1000) * 5;
export function freePort(): string {
  return String(nextPort++);
}

/** The management API of an engine process, with the test key; JSON in and out. */
export async function engineApi(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}
