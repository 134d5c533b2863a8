import type { ExecuteValues, Pool as MysqlPool, PoolConnection } from 'mysql2/promise';
import { lazyModule } from 'src/common/lazy-module';
import { createConnection } from 'node:net';
import { DatabaseError, Pool as PgPool, type PoolClient, type QueryConfig } from 'pg';
import { type ClientError, withDeadline } from 'src/steps/connections/connection-errors';
import { IDLE_CLOSE_MS, type PooledConnection } from 'src/steps/connections/connection-pool';
import { tlsServerName, urlCredentials } from 'src/steps/connections/connection-url';
import { normalizeHost } from 'src/steps/outbound/address-guard';

const mysql = lazyModule<typeof import('mysql2/promise')>('mysql2/promise');

/** Rows an `sql` step hands back (API.md section 11); `rowCount` still counts them all. */
export const MAX_SQL_ROWS = 1000;
/** Connections per database URL in one process. */
const MAX_SQL_CONNECTIONS = 10;
/** The server's statement timeout fires first; this much later the client gives up on the connection. */
const CLIENT_GRACE_MS = 2000;

export interface SqlResult {
  rows: Record<string, unknown>[];
  rowCount: number;
}

/** A database behind one URL: a driver pool, closed by our pool when idle. */
export interface SqlConnection extends PooledConnection {
  query(text: string, params: unknown[], timeoutMs: number): Promise<SqlResult>;
}

/** PostgreSQL SQLSTATEs that are a lost connection, a shutdown or a timeout (retried); every other one is final. */
const PG_TRANSIENT = /^(08000|08001|08003|08004|08006|53300|55P03|57014|57P0[1-3])$/;
/** MySQL/MariaDB errnos of the same kinds: too many connections, shutdown, lock wait, statement timeouts. */
const MYSQL_TRANSIENT = new Set([1040, 1053, 1205, 1927, 1969, 3024]);

/** An SQL error is final (API.md section 11), save the transient ones above; errors without SQLSTATE are the network's. */
export function isSqlRefusal(e: ClientError): boolean {
  if (e instanceof DatabaseError) return !PG_TRANSIENT.test(e.code ?? '');
  const sqlState = (e as { sqlState?: unknown }).sqlState;
  if (typeof sqlState === 'string' && typeof e.errno === 'number') return !MYSQL_TRANSIENT.has(e.errno);
  return false;
}

/** TLS when the URL asks for it (`sslmode` other than disable, or `ssl=true`), always verified. */
function tlsOptions(url: URL): { servername?: string } | undefined {
  const mode =
    url.searchParams.get('sslmode') ?? (url.searchParams.get('ssl') === 'true' ? 'require' : 'disable');
  return mode === 'disable' ? undefined : { servername: tlsServerName(url) };
}

function database(url: URL): string | undefined {
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return name === '' ? undefined : name;
}

/** JSON-safe cells: dates as ISO text, bytes as base64, big integers as text. */
export function toJsonRows(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.slice(0, MAX_SQL_ROWS).map((row) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      if (v instanceof Date) out[k] = Number.isNaN(v.getTime()) ? null : v.toISOString();
      else if (Buffer.isBuffer(v)) out[k] = v.toString('base64');
      else if (typeof v === 'bigint') out[k] = v.toString();
      else out[k] = v;
    }
    return out;
  });
}

export async function openSqlConnection(
  url: URL,
  address: string,
  timeoutMs: number,
): Promise<SqlConnection> {
  const connection =
    url.protocol === 'mysql:'
      ? new MysqlConnection(url, address, timeoutMs)
      : new PgConnection(url, address, timeoutMs);
  await connection.ping(timeoutMs);
  return connection;
}

class PgConnection implements SqlConnection {
  private readonly pool: PgPool;
  private closed = false;
  /** The statement_timeout each pooled client was last set to. */
  private readonly timeouts = new WeakMap<PoolClient, number>();

  constructor(url: URL, address: string, timeoutMs: number) {
    const { user, password } = urlCredentials(url);
    this.pool = new PgPool({
      host: address,
      port: url.port ? Number(url.port) : 5432,
      user,
      password,
      database: database(url),
      ssl: tlsOptions(url),
      max: MAX_SQL_CONNECTIONS,
      idleTimeoutMillis: IDLE_CLOSE_MS,
      connectionTimeoutMillis: timeoutMs,
      application_name: 'hookflow',
    });
    // An idle client's error (server restart) is not a step's: the pool drops that client.
    this.pool.on('error', () => undefined);
  }

  get usable(): boolean {
    return !this.closed;
  }

  async ping(timeoutMs: number): Promise<void> {
    await this.query('SELECT 1', [], timeoutMs);
  }

  async query(text: string, params: unknown[], timeoutMs: number): Promise<SqlResult> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      if (this.timeouts.get(client) !== timeoutMs) {
        await client.query(`SET statement_timeout = ${Math.trunc(timeoutMs)}`);
        this.timeouts.set(client, timeoutMs);
      }
      // Extended protocol even without params: one statement, values never part of its text.
      const config: QueryConfig & { queryMode: 'extended' } = { text, values: params, queryMode: 'extended' };
      const result = await withDeadline(client.query(config), timeoutMs + CLIENT_GRACE_MS, 'the query');
      return {
        rows: toJsonRows(result.rows as Record<string, unknown>[]),
        rowCount: result.rowCount ?? result.rows.length,
      };
    } catch (e) {
      // After an SQL error the session is fine; after anything else it is not reused.
      if (!(e instanceof DatabaseError)) broken = e as Error;
      throw e;
    } finally {
      client.release(broken ?? false);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.end().catch(() => undefined);
  }
}

class MysqlConnection implements SqlConnection {
  private readonly pool: MysqlPool;
  private closed = false;
  /** Per server connection: the statement-timeout variable set, and its value. */
  private readonly timeouts = new WeakMap<object, { variable: string; ms: number }>();

  constructor(url: URL, address: string, timeoutMs: number) {
    const { user, password } = urlCredentials(url);
    const port = url.port ? Number(url.port) : 3306;
    this.pool = mysql().createPool({
      // The name is kept for TLS (mysql2 verifies against `host`); the socket goes to the checked address.
      host: normalizeHost(url.hostname),
      port,
      stream: () => createConnection({ host: address, port }),
      user,
      password,
      database: database(url),
      ...(tlsOptions(url) ? { ssl: { rejectUnauthorized: true } } : {}),
      connectionLimit: MAX_SQL_CONNECTIONS,
      maxIdle: MAX_SQL_CONNECTIONS,
      idleTimeout: IDLE_CLOSE_MS,
      connectTimeout: timeoutMs,
      maxPreparedStatements: 256,
      supportBigNumbers: true,
      bigNumberStrings: true,
      timezone: 'Z',
    });
  }

  get usable(): boolean {
    return !this.closed;
  }

  async ping(timeoutMs: number): Promise<void> {
    await this.query('SELECT 1', [], timeoutMs);
  }

  async query(text: string, params: unknown[], timeoutMs: number): Promise<SqlResult> {
    const conn = await this.pool.getConnection();
    let broken = false;
    try {
      await this.setTimeout(conn, timeoutMs);
      // execute(): a server-side prepared statement, so values are never spliced into the text.
      const [result] = await withDeadline(
        conn.execute(text, params.map(toMysqlValue)),
        timeoutMs + CLIENT_GRACE_MS,
        'the query',
      );
      if (Array.isArray(result))
        return { rows: toJsonRows(result as Record<string, unknown>[]), rowCount: result.length };
      return { rows: [], rowCount: (result as { affectedRows?: number }).affectedRows ?? 0 };
    } catch (e) {
      broken = typeof (e as { sqlState?: unknown }).sqlState !== 'string';
      throw e;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  /** MariaDB's max_statement_time (seconds), else MySQL's max_execution_time (ms, SELECT only). */
  private async setTimeout(conn: PoolConnection, timeoutMs: number): Promise<void> {
    const known = this.timeouts.get(conn.connection);
    if (known?.ms === timeoutMs) return;
    const settings = [
      { variable: 'max_statement_time', value: (timeoutMs / 1000).toFixed(3) },
      { variable: 'max_execution_time', value: String(Math.trunc(timeoutMs)) },
    ].filter((s) => known === undefined || s.variable === known.variable);
    for (const [i, s] of settings.entries()) {
      try {
        await conn.query(`SET SESSION ${s.variable} = ${s.value}`);
        this.timeouts.set(conn.connection, { variable: s.variable, ms: timeoutMs });
        return;
      } catch (e) {
        // 1193: unknown system variable (MySQL has no max_statement_time); try the next one.
        if ((e as ClientError).errno !== 1193 || i === settings.length - 1) throw e;
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.end().catch(() => undefined);
  }
}

/** mysql2 binds strings, numbers, booleans, null, dates and buffers; objects and arrays go as JSON text. */
function toMysqlValue(v: unknown): ExecuteValues {
  if (v === undefined) return null;
  if (v !== null && typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v))
    return JSON.stringify(v);
  return v as ExecuteValues;
}
