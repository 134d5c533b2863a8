import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

// Below the kernel's ephemeral range (32768+), so an outgoing connection's source port can never take
// it between choosing and listening; ports already in use (any state) are skipped.
const PORT_FLOOR = 20_000;
const PORT_CEILING = 32_000;
let nextPort = PORT_FLOOR + (process.pid % 1_200) * 10;
export function freePort(): string {
  const used = portsInUse();
  for (let tries = 0; tries < PORT_CEILING - PORT_FLOOR; tries++) {
    const port = nextPort++;
    if (nextPort >= PORT_CEILING) nextPort = PORT_FLOOR;
    if (!used.has(port)) return String(port);
  }
  throw new Error('no free port below the ephemeral range');
}

function portsInUse(): Set<number> {
  const used = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // not Linux: fall back to the range alone
    }
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local) used.add(parseInt(local.split(':')[1], 16));
    }
  }
  return used;
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
