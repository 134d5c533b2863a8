import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { ACQUIRE_LUA, DESTINATION_KEYS, RELEASE_LUA, RESET_LUA } from 'src/destinations/limiter-scripts';

// The scripts against the real Redis (as every test here), under a prefix of their own.
const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379', { lazyConnect: true });
const prefix = `hftest_limiter_${randomBytes(4).toString('hex')}`;
redis.defineCommand('limiterAcquire', { lua: ACQUIRE_LUA });
redis.defineCommand('limiterRelease', { lua: RELEASE_LUA });
type Command = (...args: Array<string | number>) => Promise<unknown>;
const commands = redis as unknown as Record<string, Command>;
// EVALSHA, as the limiter calls them (ioredis loads the script on first use).
const cmd = {
  acquire: (...args: Array<string | number>) => commands.limiterAcquire.apply(redis, args),
  release: (...args: Array<string | number>) => commands.limiterRelease.apply(redis, args),
};

interface Dest {
  name: string;
  max?: number;
  perMs?: number;
  concurrency?: number;
  failures?: number;
  cooldownMs?: number;
}

const keysOf = (name: string): string[] => DESTINATION_KEYS.map((k) => `${prefix}:${name}:${k}`);

async function acquire(d: Dest, member: string, lease = member, since = ''): Promise<Array<string | number>> {
  return (await cmd.acquire(
    7,
    `${prefix}:version`,
    ...keysOf(d.name),
    '',
    member,
    `job-${member}`,
    since,
    lease,
    30_000,
    1,
    d.name,
    d.max ?? 0,
    d.perMs ?? 0,
    d.concurrency ?? 0,
    d.failures ?? 0,
    d.cooldownMs ?? 0,
    0,
  )) as Array<string | number>;
}

async function release(d: Dest, lease: string, outcome: 'ok' | 'fail'): Promise<[string[], string[]]> {
  return (await cmd.release(
    6,
    ...keysOf(d.name),
    lease,
    outcome,
    1,
    d.name,
    d.concurrency ?? 0,
    d.failures ?? 0,
  )) as [string[], string[]];
}

describe('destination limiter scripts', () => {
  beforeAll(async () => {
    await redis.connect();
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('paces a rate: the first goes, the next reserve slots one spacing apart, in the order they asked', async () => {
    const d = { name: 'rate', max: 10, perMs: 1000 };
    expect((await acquire(d, 'a'))[0]).toBe('ok');
    const waits = [];
    for (const m of ['b', 'c', 'd']) waits.push(await acquire(d, m));
    expect(waits.map((w) => [w[0], w[1], w[2]])).toEqual([
      ['wait', 'rate', 'rate'],
      ['wait', 'rate', 'rate'],
      ['wait', 'rate', 'rate'],
    ]);
    // 100 ms apart with the 3 % margin, in order
    const slots = waits.map((w) => Number(w[3]));
    expect(slots[0] - Number(waits[0][4])).toBeGreaterThan(50);
    expect(slots[1] - slots[0]).toBeGreaterThanOrEqual(102);
    expect(slots[2] - slots[1]).toBeGreaterThanOrEqual(102);
    // Asking again early keeps the same slot
    const again = await acquire(d, 'c');
    expect(Number(again[3])).toBe(Number(waits[1][3]));
  });

  it('holds concurrency with leases; a release wakes the head of the line', async () => {
    const d = { name: 'conc', concurrency: 1 };
    expect((await acquire(d, 'a', 'lease-a'))[0]).toBe('ok');
    const b = await acquire(d, 'b', 'lease-b');
    expect(b.slice(0, 3)).toEqual(['wait', 'concurrency', 'conc']);
    const c = await acquire(d, 'c', 'lease-c');
    expect(c[1]).toBe('concurrency');
    const [, woken] = await release(d, 'lease-a', 'ok');
    expect(woken).toEqual(['job-b']);
    // c asks before b is back: b's place holds
    expect((await acquire(d, 'c', 'lease-c'))[0]).toBe('wait');
    expect((await acquire(d, 'b', 'lease-b'))[0]).toBe('ok');
  });

  it('opens after N retryable failures in a row, lets one probe through after the cooldown, closes on success', async () => {
    const d = { name: 'circuit', failures: 2, cooldownMs: 150 };
    for (const m of ['a', 'b']) {
      expect((await acquire(d, m))[0]).toBe('ok');
    }
    expect((await release(d, 'a', 'fail'))[0]).toEqual([]);
    expect((await release(d, 'b', 'fail'))[0]).toEqual(['opened:circuit']);
    const waiting = await acquire(d, 'c');
    expect(waiting.slice(0, 3)).toEqual(['wait', 'circuit', 'circuit']);
    expect(Number(waiting[3]) - Number(waiting[4])).toBeGreaterThan(100);
    await new Promise((r) => setTimeout(r, 200));
    expect((await acquire(d, 'c', 'probe-c'))[0]).toBe('ok'); // the probe
    expect((await acquire(d, 'e'))[1]).toBe('circuit'); // one probe at a time
    const [events, woken] = await release(d, 'probe-c', 'ok');
    expect(events).toEqual(['closed:circuit']);
    expect(woken).toEqual(['job-e']);
    expect((await acquire(d, 'e'))[0]).toBe('ok');
  });

  it('reset closes the circuit and names every job in line', async () => {
    const d = { name: 'reset', failures: 1, cooldownMs: 600_000 };
    await acquire(d, 'a');
    await release(d, 'a', 'fail');
    await acquire(d, 'b');
    await acquire(d, 'c');
    const k = keysOf('reset');
    const [was, jobs] = (await redis.eval(RESET_LUA, 4, k[0], k[2], k[3], k[4])) as [string, string[]];
    expect(was).toBe('open');
    expect(jobs).toEqual(['job-b', 'job-c']);
    expect((await acquire(d, 'b'))[0]).toBe('ok');
  });

  it('costs one round trip per decision for a destination that never limits (printed, not asserted)', async () => {
    const d = { name: 'unlimited', max: 1_000_000, perMs: 1 };
    const n = 2000;
    const time = async (fn: (i: number) => Promise<unknown>): Promise<number> => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await fn(i);
      return Number(process.hrtime.bigint() - started) / 1000 / n;
    };
    const ping = await time(() => redis.ping());
    const decision = await time((i) => acquire(d, `m${i}`));
    console.log(
      `destination limiter: ${decision.toFixed(0)} µs per decision, ${ping.toFixed(0)} µs per PING (sequential, ${n} each)`,
    );
    expect(decision).toBeGreaterThan(0);
  });
});
