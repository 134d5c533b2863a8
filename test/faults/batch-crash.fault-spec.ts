import { EngineProcess, engineApi as api, freePort } from '../support/engine-process';
import { Receiver } from '../support/receiver';
import { waitFor } from '../support/wait-for';

// API.md section 3, `batch`: every member is stored before its 202, a restart loses no group and no
// member, and a group never starts twice. Here the process dies with kill -9 while groups are open.
describe('kill -9 while trigger batches are open', () => {
  it('runs each group once after the restart, with every member that got a 202', async () => {
    const rx = await new Receiver().start();
    const env = {
      MODE: 'all',
      PORT: freePort(),
      JOB_LOCK_MS: '2000',
      RECONCILE_INTERVAL_MS: '500',
      RECONCILE_AFTER_MS: '1000',
    };
    let engine = new EngineProcess(env);
    try {
      await engine.start();
      const flow = await api(engine.url, 'POST', '/api/v1/flows', {
        name: 'batch crash',
        // Large enough that no group fills: they close by time, after the kill.
        trigger: { type: 'webhook', batch: { maxItems: 1000, windowMs: 10_000, key: 'event.body.k' } },
        steps: [
          { id: 'shape', type: 'transform', expression: '{"execution": execution.id, "ns": event.body.n}' },
          { id: 'deliver', type: 'http', method: 'POST', url: `${rx.url}/digest`, body: '{{ steps.shape }}' },
        ],
      });
      const hook = `${engine.url}/hooks/${flow.trigger.token}`;
      const groupOf = new Map<number, string>(); // n → the executionId its 202 named
      let next = 0;
      let killed = false;
      let firstAcceptedAt = 0;
      let killedAt = 0;
      const sender = async (): Promise<void> => {
        while (next < 400) {
          const n = next++;
          try {
            const res = await fetch(hook, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ n, k: `key-${n % 3}` }),
              signal: AbortSignal.timeout(10_000),
            });
            if (res.status === 202) {
              firstAcceptedAt ||= Date.now();
              groupOf.set(n, ((await res.json()) as { executionId: string }).executionId);
            }
          } catch {
            // killed under this request: no 2xx, no promise made
          }
          if (!killed && n === 200) {
            killed = true;
            killedAt = Date.now();
            await engine.kill9();
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, () => sender()));
      expect(killed).toBe(true);
      expect(groupOf.size).toBeGreaterThan(50);
      // Killed inside the window of the first group: the groups were open (batching), not yet run.
      expect(killedAt - firstAcceptedAt).toBeLessThan(10_000);
      const groups = new Set(groupOf.values());

      engine = new EngineProcess(env);
      await engine.start();
      await waitFor(async () => {
        for (const id of groups) {
          const ex = await api(engine.url, 'GET', `/api/v1/executions/${id}`);
          if (ex.status !== 'succeeded') return false;
        }
        return true;
      }, 60_000, 500);

      // Each group was delivered once, and holds every member its 202 promised; no member twice.
      const deliveries = rx.at('/digest').map((r) => r.json as { execution: string; ns: number[] | number });
      const seen = new Map<string, number[]>();
      for (const d of deliveries) {
        expect(seen.has(d.execution)).toBe(false);
        seen.set(d.execution, Array.isArray(d.ns) ? d.ns : [d.ns]);
      }
      for (const id of groups) expect(seen.has(id)).toBe(true);
      const all = [...seen.values()].flat();
      expect(new Set(all).size).toBe(all.length);
      for (const [n, id] of groupOf) expect(seen.get(id)).toContain(n);
    } finally {
      await engine.stop();
      await rx.stop();
    }
  });
});
