/** A connection (or a driver's own pool) kept for one URL. */
export interface PooledConnection {
  /** False once the connection is known to be broken: the next user opens a new one. */
  readonly usable: boolean;
  close(): Promise<void>;
}

/** A connection nobody used for this long is closed (API.md section 11: "closed when idle"). */
export const IDLE_CLOSE_MS = 30_000;

interface Entry<T> {
  conn?: T;
  /** Shared by everyone who asks while the connection is being opened. */
  opening?: Promise<T>;
  users: number;
  timer?: NodeJS.Timeout;
}

/** Thrown to users that arrive after `closeAll` (the process is shutting down). */
export class PoolClosedError extends Error {
  constructor() {
    super('the process is shutting down; its connections are closed');
  }
}

/**
 * One connection per key (the rendered URL), shared by every concurrent user in this process and
 * closed `idleMs` after its last user left. The idle timer is unref'd so it never holds the process open.
 */
export class ConnectionPool<T extends PooledConnection> {
  private readonly entries = new Map<string, Entry<T>>();
  private closed = false;

  constructor(private readonly idleMs = IDLE_CLOSE_MS) {}

  /** Open connections (and ones being opened), for tests and metrics. */
  get size(): number {
    return this.entries.size;
  }

  /** Runs `fn` with the key's connection, opening it with `open` when there is none (or it broke). */
  async use<R>(key: string, open: () => Promise<T>, fn: (conn: T) => Promise<R>): Promise<R> {
    if (this.closed) throw new PoolClosedError();
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { users: 0 };
      this.entries.set(key, entry);
    }
    entry.users++;
    clearTimeout(entry.timer);
    entry.timer = undefined;
    try {
      return await fn(await this.connection(key, entry, open));
    } finally {
      entry.users--;
      if (entry.users === 0 && this.entries.get(key) === entry) this.release(key, entry);
    }
  }

  /** Closes every connection now; later `use` calls fail with PoolClosedError. */
  async closeAll(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      entries.map(async (entry) => {
        clearTimeout(entry.timer);
        // One still opening is closed by `connection` when it lands.
        await entry.conn?.close().catch(() => undefined);
      }),
    );
  }

  private connection(key: string, entry: Entry<T>, open: () => Promise<T>): Promise<T> {
    if (entry.conn && !entry.conn.usable) {
      const broken = entry.conn;
      entry.conn = undefined;
      void broken.close().catch(() => undefined);
    }
    if (entry.conn) return Promise.resolve(entry.conn);
    entry.opening ??= open().then(
      async (conn) => {
        entry.opening = undefined;
        if (this.closed || this.entries.get(key) !== entry) {
          await conn.close().catch(() => undefined);
          throw new PoolClosedError();
        }
        entry.conn = conn;
        return conn;
      },
      (e: unknown) => {
        entry.opening = undefined;
        throw e;
      },
    );
    return entry.opening;
  }

  private release(key: string, entry: Entry<T>): void {
    if (!entry.conn && !entry.opening) {
      this.entries.delete(key);
      return;
    }
    entry.timer = setTimeout(() => {
      if (entry.users > 0 || this.entries.get(key) !== entry) return;
      this.entries.delete(key);
      void entry.conn?.close().catch(() => undefined);
    }, this.idleMs);
    entry.timer.unref();
  }
}
