import {
  ConnectionPool,
  PoolClosedError,
  type PooledConnection,
} from 'src/steps/connections/connection-pool';

class Fake implements PooledConnection {
  usable = true;
  closed = 0;
  constructor(readonly n: number) {}
  async close(): Promise<void> {
    this.closed++;
  }
}

function opener(): { open: () => Promise<Fake>; made: Fake[] } {
  const made: Fake[] = [];
  return {
    made,
    open: async () => {
      await new Promise((r) => setImmediate(r));
      const f = new Fake(made.length + 1);
      made.push(f);
      return f;
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ConnectionPool', () => {
  it('opens one connection per key for concurrent users and reuses it', async () => {
    const pool = new ConnectionPool<Fake>(1000);
    const { open, made } = opener();
    const seen = await Promise.all([1, 2, 3].map(() => pool.use('a', open, async (c) => c.n)));
    expect(seen).toEqual([1, 1, 1]);
    expect(await pool.use('a', open, async (c) => c.n)).toBe(1);
    expect(await pool.use('b', open, async (c) => c.n)).toBe(2);
    expect(made).toHaveLength(2);
    await pool.closeAll();
  });

  it('closes a connection once it was idle for idleMs, and opens a new one after', async () => {
    const pool = new ConnectionPool<Fake>(30);
    const { open, made } = opener();
    await pool.use('a', open, async () => undefined);
    expect(pool.size).toBe(1);
    await sleep(80);
    expect(made[0].closed).toBe(1);
    expect(pool.size).toBe(0);
    expect(await pool.use('a', open, async (c) => c.n)).toBe(2);
    await pool.closeAll();
  });

  it('keeps a connection that is in use past idleMs', async () => {
    const pool = new ConnectionPool<Fake>(20);
    const { open, made } = opener();
    await pool.use('a', open, () => sleep(60));
    expect(made[0].closed).toBe(0);
    await pool.closeAll();
    expect(made[0].closed).toBe(1);
  });

  it('replaces a broken connection on the next use', async () => {
    const pool = new ConnectionPool<Fake>(1000);
    const { open, made } = opener();
    await pool.use('a', open, async (c) => {
      c.usable = false;
    });
    expect(await pool.use('a', open, async (c) => c.n)).toBe(2);
    expect(made[0].closed).toBe(1);
    await pool.closeAll();
  });

  it('forgets a key whose open failed, so the next user tries again', async () => {
    const pool = new ConnectionPool<Fake>(1000);
    let tries = 0;
    const failing = async (): Promise<Fake> => {
      tries++;
      throw new Error('ECONNREFUSED');
    };
    await expect(pool.use('a', failing, async () => 1)).rejects.toThrow('ECONNREFUSED');
    expect(pool.size).toBe(0);
    await expect(pool.use('a', failing, async () => 1)).rejects.toThrow('ECONNREFUSED');
    expect(tries).toBe(2);
  });

  it('closes everything on closeAll and refuses later users', async () => {
    const pool = new ConnectionPool<Fake>(1000);
    const { open, made } = opener();
    await pool.use('a', open, async () => undefined);
    await pool.use('b', open, async () => undefined);
    await pool.closeAll();
    expect(made.map((f) => f.closed)).toEqual([1, 1]);
    await expect(pool.use('a', open, async () => 1)).rejects.toBeInstanceOf(PoolClosedError);
  });
});
