import { bootApp, TestApp } from './support/app';
import { freeTcpPort, PrivateRedis } from './support/operate-redis';
import { waitFor } from './support/wait-for';

async function health(t: TestApp): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.url}/health`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json() };
}

describe('operate: /health follows PostgreSQL and Redis', () => {
  let redis: PrivateRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await new PrivateRedis(await freeTcpPort()).start();
    t = await bootApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    // Closing the app needs its Redis (Bull disconnects cleanly), so Redis goes last.
    if (!/Ready to accept/.test(redis.output)) await redis.start().catch(() => undefined);
    await t.close();
    await redis.stop();
  });

  it('answers 200 while both answer, 503 while Redis is stopped, and 200 again once it is back', async () => {
    const up = await health(t);
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({
      status: 'ok',
      info: { postgres: { status: 'up' }, redis: { status: 'up' } },
    });

    await redis.stop();
    const down = await waitFor(
      async () => {
        const res = await health(t);
        return res.status === 503 ? res : null;
      },
      15_000,
      200,
    );
    expect(down.body).toMatchObject({
      status: 'error',
      error: { redis: { status: 'down' } },
      details: { postgres: { status: 'up' }, redis: { status: 'down' } },
    });
    // The API itself keeps answering while Redis is away.
    expect((await t.api('GET', '/api/v1/flows')).status).toBe(200);
    expect((await fetch(`${t.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).status).toBe(200);

    await redis.start();
    const back = await waitFor(
      async () => {
        const res = await health(t);
        return res.status === 200 ? res : null;
      },
      20_000,
      200,
    );
    expect(back.body).toMatchObject({ status: 'ok', info: { redis: { status: 'up' } } });
  });
});
