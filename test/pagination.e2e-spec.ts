import { Client } from 'pg';
import { bootApp, TestApp } from './support/app';
import { createFlow, runToEnd } from './support/flow-runs';

// Keyset pages over (created_at, id): PostgreSQL keeps microseconds, a cursor (a JS Date) keeps
// milliseconds. Rows created within one millisecond must neither be skipped nor repeated.
describe('list pages with rows created within one millisecond', () => {
  let t: TestApp;
  let db: Client;

  beforeAll(async () => {
    t = await bootApp();
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await t.close();
  });

  /** Pages `path` (which already has its query string) one item at a time, at most `max` pages. */
  async function pageIds(path: string, max: number): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await t.api('GET', `${path}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      ids.push(...res.body.items.map((i: { id: string }) => i.id));
      cursor = res.body.nextCursor;
    } while (cursor && ++pages < max);
    return ids;
  }

  it('pages executions of one flow', async () => {
    const { id: flowId, hook } = await createFlow(t, {
      steps: [{ id: 's', type: 'transform', expression: '1' }],
    });
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push((await runToEnd(t, hook, { n })).id as string);
    for (const [i, id] of ids.entries())
      await db.query(`UPDATE executions SET created_at = $2 WHERE id = $1`, [
        id,
        `2001-01-01T00:00:00.000${i + 1}01Z`,
      ]);
    const seen = await pageIds(`/api/v1/executions?flowId=${flowId}`, 10);
    expect([...seen].sort()).toEqual([...ids].sort());
  });

  it('pages flows', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 3; n++)
      ids.push(
        (
          await createFlow(t, {
            name: `same-ms-${n}`,
            steps: [{ id: 's', type: 'transform', expression: '1' }],
          })
        ).id,
      );
    // Newest of all (so the first three pages), within one millisecond.
    for (const [i, id] of ids.entries())
      await db.query(`UPDATE flows SET created_at = $2 WHERE id = $1`, [
        id,
        `2100-01-01T00:00:00.000${i + 1}01Z`,
      ]);
    try {
      const seen = await pageIds('/api/v1/flows?', 3);
      expect([...seen].sort()).toEqual([...ids].sort());
    } finally {
      for (const id of ids) await t.api('DELETE', `/api/v1/flows/${id}`);
    }
  });

  it('pages API keys', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      const res = await t.api('POST', '/api/v1/api-keys', { name: `same-ms-${n}` });
      expect(res.status).toBe(201);
      ids.push(res.body.id as string);
    }
    for (const [i, id] of ids.entries())
      await db.query(`UPDATE api_keys SET created_at = $2 WHERE id = $1`, [
        id,
        `2100-01-01T00:00:00.000${i + 1}01Z`,
      ]);
    try {
      const seen = await pageIds('/api/v1/api-keys?', 3);
      expect([...seen].sort()).toEqual([...ids].sort());
    } finally {
      for (const id of ids) await t.api('DELETE', `/api/v1/api-keys/${id}`);
    }
  });
});
