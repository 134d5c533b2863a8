import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait-for';

/**
 * Servers of a fault test's own, on their own ports, so that stopping them disturbs nothing else
 * on the machine (the shared PostgreSQL and Redis keep running).
 */
export class PrivateRedis {
  private proc?: ChildProcess;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitFor(() => {
      try {
        return execFileSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' }).includes('PONG');
      } catch {
        return false;
      }
    }, 10_000);
    return this;
  }

  /** Like a restart of a Redis that keeps nothing on disk: every key is gone. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }
}

function pgBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').sort();
  return join('/usr/lib/postgresql', versions[versions.length - 1], 'bin', name);
}

/** A throw-away PostgreSQL cluster (initdb as the postgres user, trust auth, its own port). */
export class PrivatePostgres {
  private readonly dir = mkdtempSync(join(tmpdir(), 'hookflow-pg-'));
  constructor(readonly port: number) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/hookflow`;
  }

  private asPostgres(cmd: string, args: string[]): void {
    const uid = process.getuid?.() ?? 0;
    if (uid === 0) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'ignore' });
    else execFileSync(cmd, args, { stdio: 'ignore' });
  }

  async init(): Promise<this> {
    chmodSync(this.dir, 0o700);
    if ((process.getuid?.() ?? 0) === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(this.dir, uid, gid);
    }
    this.asPostgres(pgBin('initdb'), ['-D', join(this.dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    return this;
  }

  async start(): Promise<void> {
    this.asPostgres(pgBin('pg_ctl'), ['-D', join(this.dir, 'data'), '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`, '-l', join(this.dir, 'log'), '-w', 'start']);
  }

  /** Immediate shutdown: connections are cut, as in a crash. */
  async stop(): Promise<void> {
    this.asPostgres(pgBin('pg_ctl'), ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    try {
      if (existsSync(join(this.dir, 'data', 'postmaster.pid'))) await this.stop();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
