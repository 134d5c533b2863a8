import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { bootApp, fire, TestApp } from './support/app';
import { waitFor } from './support/wait-for';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('operate: API keys and the audit log', () => {
  let t: TestApp;
  let other: TestApp;
  let db: Client;

  beforeAll(async () => {
    t = await bootApp();
    // A second API process against the same database: a revoke must hold there at once too.
    other = await bootApp({ MODE: 'api' });
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await other.close();
    await t.close();
  });

  async function createKey(name: string): Promise<{ id: string; key: string }> {
    const res = await t.api('POST', '/api/v1/api-keys', { name });
    expect(res.status).toBe(201);
    return res.body;
  }

  describe('API keys', () => {
    it('creates a named key, shows its plaintext once and stores only its hash', async () => {
      const res = await t.api('POST', '/api/v1/api-keys', { name: 'ci-deploy' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(UUID),
        name: 'ci-deploy',
        key: expect.stringMatching(/^hf_[A-Za-z0-9_-]{32}$/),
        createdAt: expect.stringMatching(ISO),
      });
      const { id, key } = res.body;

      // The key works at once, in this process and in the other one.
      expect((await t.api('GET', '/api/v1/flows', undefined, key)).status).toBe(200);
      expect((await other.api('GET', '/api/v1/flows', undefined, key)).status).toBe(200);

      // The list never shows a key again.
      const list = await t.api('GET', '/api/v1/api-keys?limit=200');
      expect(list.status).toBe(200);
      const item = list.body.items.find((k: any) => k.id === id);
      expect(item).toEqual({ id, name: 'ci-deploy', createdAt: res.body.createdAt });
      expect(JSON.stringify(list.body)).not.toContain(key);
      expect(list.body.nextCursor).toBeNull();

      // At rest: the sha256 only.
      const rows = await db.query('SELECT * FROM api_keys WHERE id = $1', [id]);
      expect(rows.rows).toHaveLength(1);
      expect(rows.rows[0].key_hash).toBe(createHash('sha256').update(key).digest('hex'));
      expect(JSON.stringify(rows.rows[0])).not.toContain(key);
    });

    it('revokes a key: 204, then 401 at once in every process', async () => {
      const { id, key } = await createKey('short-lived');
      expect((await other.api('GET', '/api/v1/flows', undefined, key)).status).toBe(200);

      const revoked = await t.api('DELETE', `/api/v1/api-keys/${id}`);
      expect(revoked.status).toBe(204);
      expect(revoked.body).toBeUndefined();

      for (const app of [t, other]) {
        const res = await app.api('GET', '/api/v1/flows', undefined, key);
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'invalid API key' });
      }
      const list = await t.api('GET', '/api/v1/api-keys?limit=200');
      expect(list.body.items.find((k: any) => k.id === id)).toEqual({
        id,
        name: 'short-lived',
        createdAt: expect.stringMatching(ISO),
        revokedAt: expect.stringMatching(ISO),
      });

      // Gone is gone: a second revoke, an unknown id and a non-id are 404.
      expect((await t.api('DELETE', `/api/v1/api-keys/${id}`)).status).toBe(404);
      expect((await t.api('DELETE', '/api/v1/api-keys/00000000-0000-4000-8000-000000000000')).status).toBe(
        404,
      );
      expect((await t.api('DELETE', '/api/v1/api-keys/nope')).status).toBe(404);
    });

    it('lets a key act on the API, including revoking itself', async () => {
      const { id, key } = await createKey('self-revoking');
      const made = await t.api('POST', '/api/v1/api-keys', { name: 'made-by-a-key' }, key);
      expect(made.status).toBe(201);
      expect((await t.api('DELETE', `/api/v1/api-keys/${id}`, undefined, key)).status).toBe(204);
      expect((await t.api('GET', '/api/v1/api-keys', undefined, key)).status).toBe(401);
      // The key it made outlives it.
      expect((await t.api('GET', '/api/v1/api-keys', undefined, made.body.key)).status).toBe(200);
    });

    it('answers 401 without a valid key', async () => {
      const none = await fetch(`${t.url}/api/v1/api-keys`);
      expect(none.status).toBe(401);
      expect((await t.api('GET', '/api/v1/api-keys', undefined, 'hf_not-a-key')).status).toBe(401);
      expect((await t.api('POST', '/api/v1/api-keys', { name: 'x' }, 'wrong')).status).toBe(401);
    });

    it('rejects bad names and names already in use', async () => {
      const empty = await t.api('POST', '/api/v1/api-keys', {});
      expect(empty.status).toBe(400);
      expect(empty.body.message).toEqual(expect.arrayContaining([expect.stringContaining('name')]));
      const unknown = await t.api('POST', '/api/v1/api-keys', { name: 'ok', scopes: ['all'] });
      expect(unknown.status).toBe(400);
      expect(unknown.body.message).toEqual(['property scopes should not exist']);
      expect((await t.api('POST', '/api/v1/api-keys', { name: '' })).status).toBe(400);
      expect((await t.api('POST', '/api/v1/api-keys', { name: 'a\nb' })).status).toBe(400);
      expect((await t.api('POST', '/api/v1/api-keys', { name: 'x'.repeat(101) })).status).toBe(400);

      const reserved = await t.api('POST', '/api/v1/api-keys', { name: 'bootstrap' });
      expect(reserved.status).toBe(409);

      const first = await createKey('twice');
      const again = await t.api('POST', '/api/v1/api-keys', { name: 'twice' });
      expect(again.status).toBe(409);
      expect(again.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: 'an active API key is already named twice',
      });
      // Once the first is revoked, the name is free again.
      expect((await t.api('DELETE', `/api/v1/api-keys/${first.id}`)).status).toBe(204);
      expect((await t.api('POST', '/api/v1/api-keys', { name: 'twice' })).status).toBe(201);
    });

    it('pages the key list newest first', async () => {
      for (const n of [1, 2, 3]) await createKey(`page-${n}`);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await t.api('GET', `/api/v1/api-keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.items.map((k: any) => k.name));
        cursor = res.body.nextCursor;
      } while (cursor && ++pages < 50);
      const all = await t.api('GET', '/api/v1/api-keys?limit=200');
      expect(seen).toEqual(all.body.items.map((k: any) => k.name));
      expect(seen.slice(0, 3)).toEqual(['page-3', 'page-2', 'page-1']);
      expect((await t.api('GET', '/api/v1/api-keys?limit=0')).status).toBe(400);
      expect((await t.api('GET', '/api/v1/api-keys?limit=201')).status).toBe(400);
    });
  });

  describe('audit log', () => {
    it('records who changed a flow, with the definitions before and after, newest first', async () => {
      const { key } = await createKey('ops-alice');
      const created = await t.api(
        'POST',
        '/api/v1/flows',
        {
          name: 'audited',
          trigger: { type: 'webhook' },
          steps: [{ id: 'a', type: 'transform', expression: '1' }],
        },
        key,
      );
      expect(created.status).toBe(201);
      const id = created.body.id;
      const replaced = await t.api(
        'PUT',
        `/api/v1/flows/${id}`,
        {
          name: 'audited',
          trigger: { type: 'webhook' },
          filter: 'event.body.go = true',
          steps: [{ id: 'b', type: 'transform', expression: '2' }],
        },
        key,
      );
      expect(replaced.status).toBe(200);
      // A rejected change writes no record (same transaction as the change).
      const bad = await t.api(
        'PUT',
        `/api/v1/flows/${id}`,
        {
          name: 'audited',
          trigger: { type: 'webhook' },
          steps: [{ id: 'c', type: 'transform', expression: '(' }],
        },
        key,
      );
      expect(bad.status).toBe(400);
      expect((await t.api('PATCH', `/api/v1/flows/${id}`, { enabled: false })).status).toBe(200);
      expect((await t.api('POST', `/api/v1/flows/${id}/rotate-token`, undefined, key)).status).toBe(200);
      expect((await t.api('DELETE', `/api/v1/flows/${id}`, undefined, key)).status).toBe(204);

      const res = await t.api('GET', `/api/v1/audit?flowId=${id}`);
      expect(res.status).toBe(200);
      expect(res.body.nextCursor).toBeNull();
      const items = res.body.items;
      expect(items.map((a: any) => [a.action, a.actor, a.target])).toEqual([
        ['flow.deleted', 'ops-alice', `flow:${id}`],
        ['flow.token_rotated', 'ops-alice', `flow:${id}`],
        ['flow.disabled', 'bootstrap', `flow:${id}`],
        ['flow.updated', 'ops-alice', `flow:${id}`],
        ['flow.created', 'ops-alice', `flow:${id}`],
      ]);
      for (const a of items) expect(a.at).toMatch(ISO);
      const times = items.map((a: any) => Date.parse(a.at));
      expect([...times].sort((x, y) => y - x)).toEqual(times);

      const [deleted, rotated, disabled, updated, made] = items;
      expect(Object.keys(made).sort()).toEqual(['action', 'actor', 'after', 'at', 'target']);
      expect(made.after).toMatchObject({
        name: 'audited',
        enabled: true,
        version: 1,
        trigger: { type: 'webhook' },
        steps: [{ id: 'a', type: 'transform', expression: '1' }],
      });
      expect(updated.before).toMatchObject({
        version: 1,
        steps: [{ id: 'a', type: 'transform', expression: '1' }],
      });
      expect(updated.before.filter).toBeUndefined();
      expect(updated.after).toMatchObject({
        version: 2,
        filter: 'event.body.go = true',
        steps: [{ id: 'b', type: 'transform', expression: '2' }],
      });
      expect(disabled).toMatchObject({ before: { enabled: true }, after: { enabled: false } });
      // A token is a credential: the record says that it changed, not what it is.
      expect(Object.keys(rotated).sort()).toEqual(['action', 'actor', 'at', 'target']);
      expect(JSON.stringify(items)).not.toContain(created.body.trigger.token);
      expect(deleted.before).toMatchObject({ name: 'audited', version: 2 });
      expect(deleted.after).toBeUndefined();
    });

    it('records key creation and revocation by the key that did it', async () => {
      const admin = await createKey('ops-bob');
      const made = await t.api('POST', '/api/v1/api-keys', { name: 'for-a-robot' }, admin.key);
      expect((await t.api('DELETE', `/api/v1/api-keys/${made.body.id}`, undefined, admin.key)).status).toBe(
        204,
      );

      const createdLog = await t.api('GET', '/api/v1/audit?action=apikey.created&limit=200');
      expect(createdLog.status).toBe(200);
      expect(createdLog.body.items.every((a: any) => a.action === 'apikey.created')).toBe(true);
      expect(createdLog.body.items.find((a: any) => a.target === `apikey:${made.body.id}`)).toEqual({
        at: expect.stringMatching(ISO),
        actor: 'ops-bob',
        action: 'apikey.created',
        target: `apikey:${made.body.id}`,
        after: { id: made.body.id, name: 'for-a-robot' },
      });
      expect(createdLog.body.items.find((a: any) => a.target === `apikey:${admin.id}`)).toMatchObject({
        actor: 'bootstrap',
      });
      const revokedLog = await t.api('GET', '/api/v1/audit?action=apikey.revoked');
      expect(revokedLog.body.items[0]).toEqual({
        at: expect.stringMatching(ISO),
        actor: 'ops-bob',
        action: 'apikey.revoked',
        target: `apikey:${made.body.id}`,
        before: { id: made.body.id, name: 'for-a-robot' },
      });
      // The plaintext of a key never reaches the audit log.
      const everything = await t.api('GET', '/api/v1/audit?limit=200');
      expect(JSON.stringify(everything.body)).not.toContain(made.body.key);
      expect(JSON.stringify(everything.body)).not.toContain(admin.key);
    });

    it('records execution changes with the execution as target', async () => {
      const flow = await t.api('POST', '/api/v1/flows', {
        name: 'replayed',
        trigger: { type: 'webhook' },
        steps: [{ id: 'only', type: 'transform', expression: 'event.body.n' }],
      });
      const { key } = await createKey('ops-carol');
      const accepted = await fire(`${t.url}/hooks/${flow.body.trigger.token}`, { n: 1 });
      expect(accepted.status).toBe(202);
      const executionId = accepted.body.executionId;
      await waitFor(
        async () => (await t.api('GET', `/api/v1/executions/${executionId}`)).body.status === 'succeeded',
        15_000,
      );
      const replay = await t.api('POST', `/api/v1/executions/${executionId}/replay`, undefined, key);
      expect(replay.status).toBe(202);
      const log = await t.api('GET', `/api/v1/audit?flowId=${flow.body.id}&action=execution.replayed`);
      expect(log.body.items).toEqual([
        {
          at: expect.stringMatching(ISO),
          actor: 'ops-carol',
          action: 'execution.replayed',
          target: `execution:${executionId}`,
          after: { executionId: replay.body.executionId },
        },
      ]);
    });

    it('pages with a cursor and combines filters', async () => {
      const flow = await t.api('POST', '/api/v1/flows', {
        name: 'paged',
        trigger: { type: 'webhook' },
        steps: [],
      });
      const id = flow.body.id;
      for (let i = 0; i < 5; i++) {
        const res = await t.api('PATCH', `/api/v1/flows/${id}`, { name: `paged-${i}` });
        expect(res.status).toBe(200);
      }
      const full = await t.api('GET', `/api/v1/audit?flowId=${id}`);
      expect(full.body.items.map((a: any) => a.action)).toEqual([
        ...Array(5).fill('flow.updated'),
        'flow.created',
      ]);
      expect(full.body.items.map((a: any) => a.after?.name)).toEqual([
        'paged-4',
        'paged-3',
        'paged-2',
        'paged-1',
        'paged-0',
        'paged',
      ]);

      const pages: any[][] = [];
      let cursor: string | null = null;
      do {
        const res = await t.api(
          'GET',
          `/api/v1/audit?flowId=${id}&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(res.status).toBe(200);
        pages.push(res.body.items);
        cursor = res.body.nextCursor;
      } while (cursor && pages.length < 10);
      expect(pages.map((p) => p.length)).toEqual([4, 2]);
      expect(pages.flat()).toEqual(full.body.items);

      const both = await t.api('GET', `/api/v1/audit?flowId=${id}&action=flow.created`);
      expect(both.body.items).toHaveLength(1);
      expect(both.body.items[0]).toMatchObject({ action: 'flow.created', target: `flow:${id}` });
      const none = await t.api('GET', `/api/v1/audit?flowId=${id}&action=secret.set`);
      expect(none.body).toEqual({ items: [], nextCursor: null });
    });

    it('rejects bad queries with 400 and needs a key', async () => {
      for (const q of [
        'limit=0',
        'limit=201',
        'limit=x',
        'flowId=nope',
        'action=DROP TABLE',
        'cursor=zzz',
        'since=1',
      ]) {
        const res = await t.api('GET', `/api/v1/audit?${q}`);
        expect([q, res.status]).toEqual([q, 400]);
        expect(res.body.statusCode).toBe(400);
      }
      expect((await fetch(`${t.url}/api/v1/audit`)).status).toBe(401);
    });
  });
});
