import { DataSource } from 'typeorm';
import { bootApp, fire, TestApp } from './support/app';
import { Receiver } from './support/receiver';
import { FINAL_STATUSES } from './support/flow-runs';
import { waitFor } from './support/wait-for';

/**
 * Events with an idempotency key share one statement per batch (ExecutionRepository.insertOnce):
 * each is answered after its own key and row committed, a repeated key — in the same batch, in
 * another batch or in another process — is answered with the first execution, and one row
 * PostgreSQL refuses fails only its own event.
 */
describe('idempotency keys in shared batches', () => {
  let a: TestApp;
  let b: TestApp;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await new Receiver().start();
    a = await bootApp();
    b = await bootApp();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await rx.stop();
  });

  async function createFlow(path: string): Promise<{ id: string; token: string }> {
    const res = await a.api('POST', '/api/v1/flows', {
      name: `batched keys ${path}`,
      trigger: { type: 'webhook', idempotencyKey: 'event.body.key' },
      steps: [
        { id: 'deliver', type: 'http', method: 'POST', url: `${rx.url}${path}`, body: '{{ event.body }}' },
      ],
    });
    expect(res.status).toBe(201);
    return { id: res.body.id, token: res.body.trigger.token };
  }

  async function settled(flowId: string, count: number): Promise<any[]> {
    return waitFor(
      async () => {
        const res = await a.api('GET', `/api/v1/executions?flowId=${flowId}&limit=200`);
        const found: any[] = res.body.items;
        return found.length === count && found.every((e) => FINAL_STATUSES.includes(e.status)) ? found : null;
      },
      60_000,
      200,
    );
  }

  it('200 concurrent requests over 50 keys and two instances: 50 executions, every answer names its key’s one', async () => {
    const { id, token } = await createFlow('/fifty');
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        fire(`${(i % 2 ? a : b).url}/hooks/${token}`, { key: `k${i % 50}`, i }).then((r) => ({
          ...r,
          key: i % 50,
        })),
      ),
    );
    const byKey = new Map<number, typeof answers>();
    for (const r of answers) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
    expect(byKey.size).toBe(50);
    const firstIds = new Set<string>();
    for (const [, group] of byKey) {
      const accepted = group.filter((r) => r.status === 202);
      expect(accepted).toHaveLength(1);
      const executionId = accepted[0].body.executionId;
      expect(accepted[0].body).toEqual({ executionId, status: 'queued' });
      for (const r of group.filter((g) => g !== accepted[0]))
        expect({ status: r.status, body: r.body }).toEqual({
          status: 200,
          body: { executionId, duplicate: true },
        });
      firstIds.add(executionId);
    }
    expect(firstIds.size).toBe(50);

    const runs = await settled(id, 50);
    expect(new Set(runs.map((e) => e.id))).toEqual(firstIds);
    expect(runs.every((e) => e.status === 'succeeded')).toBe(true);
    const delivered = rx.at('/fifty').map((r) => (r.json as { key: string }).key);
    expect(delivered).toHaveLength(50);
    expect(new Set(delivered).size).toBe(50);
  });

  it('a keyed row PostgreSQL refuses fails alone; the keyed events of another flow beside it are stored once', async () => {
    const healthy = await createFlow('/healthy');
    const poison = await createFlow('/poison');
    const db = a.app.get(DataSource);
    // A check PostgreSQL enforces on new rows only, refusing the poison flow's keys (and nothing else).
    const constraint = `poison_${poison.id.replaceAll('-', '')}`;
    await db.query(
      `ALTER TABLE idempotency_keys ADD CONSTRAINT ${constraint} CHECK (flow_id <> '${poison.id}'::uuid) NOT VALID`,
    );
    let answers: Array<{ flow: 'healthy' | 'poison'; status: number; body: any }>;
    try {
      answers = await Promise.all(
        Array.from({ length: 40 }, (_, n) => [
          fire(`${a.url}/hooks/${poison.token}`, { key: `p${n}` }).then((r) => ({
            flow: 'poison' as const,
            ...r,
          })),
          fire(`${a.url}/hooks/${healthy.token}`, { key: `h${n}` }).then((r) => ({
            flow: 'healthy' as const,
            ...r,
          })),
        ]).flat(),
      );
    } finally {
      await db.query(`ALTER TABLE idempotency_keys DROP CONSTRAINT ${constraint}`);
    }
    const ok = answers.filter((r) => r.flow === 'healthy');
    const bad = answers.filter((r) => r.flow === 'poison');
    expect(ok.map((r) => r.status)).toEqual(Array(40).fill(202));
    expect(new Set(ok.map((r) => r.body.executionId)).size).toBe(40);
    for (const r of bad) expect(r.status).toBeGreaterThanOrEqual(500);

    const runs = await settled(healthy.id, 40);
    expect(new Set(runs.map((e) => e.id))).toEqual(new Set(ok.map((r) => r.body.executionId)));
    expect(runs.every((e) => e.status === 'succeeded')).toBe(true);
    expect(rx.at('/healthy')).toHaveLength(40);
    const stored = await db.query(
      `SELECT (SELECT count(*)::int FROM executions WHERE flow_id = $1) AS executions,
              (SELECT count(*)::int FROM idempotency_keys WHERE flow_id = $1) AS keys`,
      [poison.id],
    );
    expect(stored[0]).toEqual({ executions: 0, keys: 0 });
    expect(rx.at('/poison')).toHaveLength(0);

    // The keys were not taken by the failures: the same events, sent again, run.
    const again = await fire(`${a.url}/hooks/${poison.token}`, { key: 'p0' });
    expect(again.status).toBe(202);
    await settled(poison.id, 1);
  });
});
