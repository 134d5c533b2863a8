import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../support/engine-process';

/** Runs `node dist/main.js` with `env` until it exits (bounded), and returns its code and output. */
function boot(env: Record<string, string>): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'main.js')], {
      env: { ...process.env, LOG_LEVEL: 'warn', PORT: freePort(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

describe('boot with a server out of reach', () => {
  it('exits non-zero within 15 s with one line naming the Redis URL', async () => {
    const url = `redis://127.0.0.1:${freePort()}`;
    const r = await boot({ REDIS_URL: url });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.ms).toBeLessThan(15_000);
    const lines = r.output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(url);
    expect(lines[0]).toMatch(/REDIS_URL/);
  });

  it('exits non-zero within 15 s with one line naming the PostgreSQL URL', async () => {
    const url = `postgres://postgres@127.0.0.1:${freePort()}/hookflow`;
    const r = await boot({ DATABASE_URL: url });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.ms).toBeLessThan(15_000);
    const lines = r.output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(url);
    expect(lines[0]).toMatch(/DATABASE_URL/);
  });

  it('refuses a bad setting with one line naming it', async () => {
    const r = await boot({ MODE: 'both' });
    expect(r.code).not.toBe(0);
    expect(r.output.trim().split('\n')).toHaveLength(1);
    expect(r.output).toMatch(/MODE/);
  });
});
