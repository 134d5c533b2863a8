import { createConnection as mysqlConnect, type Connection as MysqlConnection } from 'mysql2/promise';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { Client } from 'pg';
import { SMTPServer } from 'smtp-server';
import { bootApp, TestApp } from './support/app';
import { createFlow, runToEnd } from './support/flow-runs';
import { waitFor } from './support/wait-for';

// Real PostgreSQL (the run's own database), MariaDB (database `test`) and an SMTP server on 127.0.0.1.
const fast = { attempts: 5, backoff: { type: 'fixed', delayMs: 50 } };
const tag = randomBytes(4).toString('hex');
const table = `hf_sql_${tag}`;
const EVIL = "x'); DROP TABLE " + table + '; --';

/** The run's database, reached at 127.0.0.1 (OUTBOUND_ALLOW=127.0.0.1/32 leaves ::1 out). */
function pgUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.hostname = '127.0.0.1';
  return url.toString();
}

interface Received {
  from: string;
  to: string[];
  user?: string;
  raw: string;
}

describe('outbound: sql and email steps against PostgreSQL, MariaDB and an SMTP server', () => {
  let t: TestApp;
  let pg: Client;
  let maria: MysqlConnection;
  let smtp: SMTPServer;
  let smtpPort = 0;
  const mails: Received[] = [];
  /** Listens on 127.0.0.2, which OUTBOUND_ALLOW leaves out: it must never see a connection. */
  let refused: Server;
  let refusedPort = 0;
  let refusedConnections = 0;

  beforeAll(async () => {
    pg = new Client({ connectionString: pgUrl() });
    await pg.connect();
    await pg.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, name text NOT NULL, data jsonb)`);
    maria = await mysqlConnect({ host: '127.0.0.1', port: 3306, user: 'root', database: 'test' });
    await maria.query(`CREATE TABLE ${table} (id int AUTO_INCREMENT PRIMARY KEY, name text NOT NULL, n int)`);
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, cb) {
        if (auth.username === 'mailer' && auth.password === 'mail-s3cret') cb(null, { user: auth.username });
        else cb(new Error('Invalid username or password'));
      },
      onRcptTo(address, _session, cb) {
        if (address.address.startsWith('nobody@')) {
          const e = new Error('no such mailbox') as Error & { responseCode: number };
          e.responseCode = 550;
          cb(e);
        } else cb();
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            user: session.user as string | undefined,
            raw: Buffer.concat(chunks).toString(),
          });
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    smtpPort = (smtp.server.address() as AddressInfo).port;
    refused = createServer((socket) => {
      refusedConnections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => refused.listen(0, '127.0.0.2', resolve));
    refusedPort = (refused.address() as AddressInfo).port;
    t = await bootApp();
    expect((await t.api('PUT', '/api/v1/secrets/PG_URL', { value: pgUrl() })).status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await pg.end();
    await maria.query(`DROP TABLE IF EXISTS ${table}`);
    await maria.end();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    await new Promise((resolve) => refused.close(resolve));
  });

  async function run(steps: Record<string, unknown>[], payload: unknown): Promise<any> {
    const { hook } = await createFlow(t, {
      name: `sql-email ${tag}`,
      steps: steps.map((s) => ({ retry: fast, ...s })),
    });
    return runToEnd(t, hook, payload);
  }

  describe('sql on PostgreSQL', () => {
    it('inserts and selects through params; an injection attempt stays data', async () => {
      const ex = await run(
        [
          {
            id: 'ins',
            type: 'sql',
            url: '{{ $secrets.PG_URL }}',
            query: `INSERT INTO ${table} (name, data) VALUES ($1, $2), ($3, NULL) RETURNING id, name`,
            params: ['{{ event.body.name }}', '{{ event.body.data }}', '{{ event.body.evil }}'],
          },
          {
            id: 'sel',
            type: 'sql',
            url: '{{ $secrets.PG_URL }}',
            query: `SELECT name, data, now() AS at FROM ${table} WHERE name = $1 OR name = $2 ORDER BY id`,
            params: ['{{ event.body.name }}', '{{ event.body.evil }}'],
          },
        ],
        { name: 'ada', data: { tags: ['a', 'b'] }, evil: EVIL },
      );
      expect(ex.status).toBe('succeeded');
      expect(ex.steps[0].output).toEqual({
        rows: [
          { id: 1, name: 'ada' },
          { id: 2, name: EVIL },
        ],
        rowCount: 2,
      });
      expect(ex.steps[1].output.rowCount).toBe(2);
      expect(ex.steps[1].output.rows.map((r: any) => [r.name, r.data])).toEqual([
        ['ada', { tags: ['a', 'b'] }],
        [EVIL, null],
      ]);
      expect(typeof ex.steps[1].output.rows[0].at).toBe('string');
      const still = await pg.query(`SELECT count(*)::int AS n FROM ${table}`);
      expect(still.rows[0].n).toBe(2);
      expect(ex.steps[0].attempts[0].request).toMatchObject({
        query: `INSERT INTO ${table} (name, data) VALUES ($1, $2), ($3, NULL) RETURNING id, name`,
        params: ['ada', { tags: ['a', 'b'] }, EVIL],
      });
    });

    it('returns at most 1,000 rows and counts them all', async () => {
      const ex = await run(
        [
          {
            id: 'q',
            type: 'sql',
            url: '{{ $secrets.PG_URL }}',
            query: 'SELECT g FROM generate_series(1, 1500) g',
          },
        ],
        {},
      );
      expect(ex.status).toBe('succeeded');
      expect(ex.steps[0].output.rows).toHaveLength(1000);
      expect(ex.steps[0].output.rows[999]).toEqual({ g: 1000 });
      expect(ex.steps[0].output.rowCount).toBe(1500);
    });

    it('does not retry an SQL error', async () => {
      const ex = await run(
        [{ id: 'q', type: 'sql', url: '{{ $secrets.PG_URL }}', query: `SELECT * FROM hf_none_${tag}` }],
        {},
      );
      expect(ex.status).toBe('failed');
      expect(ex.steps[0].attempts).toHaveLength(1);
      expect(ex.steps[0].error).toBe(`relation "hf_none_${tag}" does not exist`);
    });

    it('runs under timeoutMs as a statement timeout, and retries the timeout', async () => {
      const ex = await run(
        [
          {
            id: 'q',
            type: 'sql',
            url: '{{ $secrets.PG_URL }}',
            query: 'SELECT pg_sleep(5)',
            timeoutMs: 300,
            retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 50 } },
          },
        ],
        {},
      );
      expect(ex.status).toBe('failed');
      expect(ex.steps[0].attempts).toHaveLength(2);
      expect(ex.steps[0].error).toBe('canceling statement due to statement timeout');
    });
  });

  describe('sql on MariaDB', () => {
    it('inserts and selects through params; an injection attempt stays data', async () => {
      const url = 'mysql://root@127.0.0.1:3306/test';
      const ex = await run(
        [
          {
            id: 'ins',
            type: 'sql',
            url,
            query: `INSERT INTO ${table} (name, n) VALUES (?, ?), (?, ?)`,
            params: ['{{ event.body.name }}', '{{ event.body.n }}', '{{ event.body.evil }}', null],
          },
          {
            id: 'sel',
            type: 'sql',
            url,
            query: `SELECT name, n FROM ${table} WHERE name IN (?, ?) ORDER BY id`,
            params: ['{{ event.body.name }}', '{{ event.body.evil }}'],
          },
        ],
        { name: 'ada', n: 3, evil: EVIL },
      );
      expect(ex.status).toBe('succeeded');
      expect(ex.steps[0].output).toEqual({ rows: [], rowCount: 2 });
      expect(ex.steps[1].output).toEqual({
        rows: [
          { name: 'ada', n: 3 },
          { name: EVIL, n: null },
        ],
        rowCount: 2,
      });
      const [count] = await maria.query(`SELECT COUNT(*) AS n FROM ${table}`);
      expect((count as Array<{ n: number }>)[0].n).toBe(2);
    });

    it('does not retry an SQL error', async () => {
      const ex = await run(
        [
          {
            id: 'q',
            type: 'sql',
            url: 'mysql://root@127.0.0.1:3306/test',
            query: `SELECT * FROM hf_none_${tag}`,
          },
        ],
        {},
      );
      expect(ex.status).toBe('failed');
      expect(ex.steps[0].attempts).toHaveLength(1);
      expect(ex.steps[0].error).toBe(`Table 'test.hf_none_${tag}' doesn't exist`);
    });
    it('runs under timeoutMs as max_statement_time, and retries the timeout', async () => {
      const ex = await run(
        [
          {
            id: 'q',
            type: 'sql',
            url: 'mysql://root@127.0.0.1:3306/test',
            query: 'SELECT SLEEP(5) AS s',
            timeoutMs: 300,
            retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 50 } },
          },
        ],
        {},
      );
      expect(ex.status).toBe('failed');
      expect(ex.steps[0].attempts).toHaveLength(2);
      expect(ex.steps[0].error).toMatch(/max_statement_time exceeded/);
    });
  });

  describe('email', () => {
    const smtpUrl = (): string => `smtp://mailer:mail-s3cret@127.0.0.1:${smtpPort}`;

    it('sends through SMTP with credentials: the server gets the right envelope and headers', async () => {
      const ex = await run(
        [
          {
            id: 'mail',
            type: 'email',
            smtp: smtpUrl(),
            from: 'hookflow@example.com',
            to: '{{ event.body.to }}',
            cc: ['cc@example.com'],
            bcc: 'hidden@example.com',
            subject: 'Order {{ event.body.id }} paid',
            text: 'Thanks, {{ event.body.name }}.',
          },
        ],
        { to: 'ada@example.com', id: 42, name: 'Ada' },
      );
      expect(ex.status).toBe('succeeded');
      expect(ex.steps[0].output).toMatchObject({
        accepted: ['ada@example.com', 'cc@example.com', 'hidden@example.com'],
        rejected: [],
      });
      expect(ex.steps[0].output.messageId).toMatch(/^<.+@.+>$/);
      const mail = await waitFor(() => mails.find((m) => m.raw.includes('Order 42 paid')), 5000);
      expect(mail.user).toBe('mailer');
      expect(mail.from).toBe('hookflow@example.com');
      expect(mail.to).toEqual(['ada@example.com', 'cc@example.com', 'hidden@example.com']);
      expect(mail.raw).toMatch(/^From: hookflow@example\.com\r$/m);
      expect(mail.raw).toMatch(/^To: ada@example\.com\r$/m);
      expect(mail.raw).toMatch(/^Cc: cc@example\.com\r$/m);
      expect(mail.raw).toMatch(/^Subject: Order 42 paid\r$/m);
      expect(mail.raw).not.toMatch(/^Bcc:/m);
      expect(mail.raw).toContain('Thanks, Ada.');
      expect(ex.steps[0].attempts[0].request.smtp).toBe(`smtp://***@127.0.0.1:${smtpPort}`);
      expect(JSON.stringify(ex)).not.toContain('mail-s3cret');
    });

    it('does not retry an SMTP 5xx (every recipient refused)', async () => {
      const ex = await run(
        [
          {
            id: 'mail',
            type: 'email',
            smtp: smtpUrl(),
            from: 'hookflow@example.com',
            to: 'nobody@example.com',
            subject: 'x',
            text: 'x',
          },
        ],
        {},
      );
      expect(ex.status).toBe('failed');
      expect(ex.steps[0].attempts).toHaveLength(1);
      expect(ex.steps[0].error).toContain('550');
    });

    it('does not retry refused credentials (535)', async () => {
      const ex = await run(
        [
          {
            id: 'mail',
            type: 'email',
            smtp: `smtp://mailer:wrong-pass@127.0.0.1:${smtpPort}`,
            from: 'hookflow@example.com',
            to: 'ada@example.com',
            subject: 'x',
            text: 'x',
          },
        ],
        {},
      );
      expect(ex.status).toBe('failed');
      expect(ex.steps[0].attempts).toHaveLength(1);
      expect(ex.steps[0].error).toContain('535');
      expect(JSON.stringify(ex)).not.toContain('wrong-pass');
    });
  });

  it.each([
    [
      'postgres',
      () => ({ type: 'sql', url: `postgres://u:pw-s3cret@127.0.0.2:${refusedPort}/x`, query: 'SELECT 1' }),
    ],
    [
      'mysql',
      () => ({ type: 'sql', url: `mysql://u:pw-s3cret@127.0.0.2:${refusedPort}/x`, query: 'SELECT 1' }),
    ],
    [
      'smtps',
      () => ({
        type: 'email',
        smtp: `smtps://u:pw-s3cret@127.0.0.2:${refusedPort}`,
        from: 'a@example.com',
        to: 'b@example.com',
        subject: 's',
      }),
    ],
  ])('refuses a %s host outside OUTBOUND_ALLOW with one attempt and no connection', async (_label, step) => {
    const ex = await run([{ id: 'out', ...step() }], {});
    expect(ex.status).toBe('failed');
    expect(ex.steps[0].attempts).toHaveLength(1);
    expect(ex.steps[0].error).toBe('127.0.0.2 is a loopback address; add it to OUTBOUND_ALLOW to allow it');
    expect(JSON.stringify(ex)).not.toContain('pw-s3cret');
    expect(refusedConnections).toBe(0);
  });
});
