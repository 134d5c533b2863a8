import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AddressInfo } from 'node:net';
import { createHttpApp } from 'src/app';
import { loadConfig } from 'src/config/env';
import { migrate } from 'src/database/database-bootstrap';

export const TEST_API_KEY = 'test-bootstrap-key';
export const TEST_SECRETS_KEY = Buffer.alloc(32, 7).toString('base64');
/** No test request waits longer than this: a hung answer fails its test instead of its file's timeout. */
export const REQUEST_TIMEOUT_MS = 60_000;

export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  close(): Promise<void>;
  /** fetch against the app with the bootstrap key; JSON in and out. */
  api(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; body: any }>;
}

let migrated = false;

/** Boots the real AppModule (MODE=all unless told) against the run's database and Redis prefix. */
export async function bootApp(env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig({
    ...process.env,
    API_KEY: TEST_API_KEY,
    SECRETS_KEY: TEST_SECRETS_KEY,
    OUTBOUND_ALLOW: '127.0.0.1/32',
    RECONCILE_INTERVAL_MS: '1000',
    // Jobs on the test's own thread: worker threads need the compiled dist/ (tests that spawn
    // dist/main.js run them).
    WORKER_THREADS: '0',
    ...env,
  });
  if (!migrated) {
    await migrate(config.DATABASE_URL);
    migrated = true;
  }
  const app = await createHttpApp(config);
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  return {
    app,
    url,
    close: () => app.close(),
    async api(method, path, body, key = TEST_API_KEY) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed };
    },
  };
}

/** POSTs to a trigger URL. */
export async function fire(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}
