import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { AuditService } from 'src/audit/audit.service';
import type { AppConfig } from 'src/config/app-config';
import { encryptSecret } from 'src/secrets/secret-cipher';
import { SecretEntity } from 'src/secrets/secret.entity';
import { SecretsService } from 'src/secrets/secrets.service';

/** A secrets table in memory whose reads can be held open, counting them. */
function fakeTable(key: Buffer) {
  const rows = new Map<string, SecretEntity>();
  const state = { reads: 0, hold: undefined as Promise<void> | undefined };
  const seal = (name: string, value: string): SecretEntity =>
    Object.assign(new SecretEntity(), {
      name,
      value: encryptSecret(key, name, value),
      createdAt: new Date(),
      updatedAt: new Date(),
    });
  const manager = {
    findOne: async (_e: unknown, q: { where: { name: string } }) => rows.get(q.where.name) ?? null,
    create: (_e: unknown, r: Partial<SecretEntity>) => Object.assign(new SecretEntity(), r),
    save: async (r: SecretEntity) => {
      r.createdAt ??= new Date();
      r.updatedAt ??= new Date();
      rows.set(r.name, r);
      return r;
    },
  };
  const db = {
    getRepository: () => ({
      find: async () => {
        state.reads++;
        const snapshot = [...rows.values()].map((r) => ({ ...r }));
        await state.hold;
        return snapshot;
      },
    }),
    transaction: async <T>(fn: (m: typeof manager) => Promise<T>) => fn(manager),
  };
  return { rows, state, seal, db: db as unknown as DataSource };
}

describe('SecretsService.values', () => {
  const keyBytes = randomBytes(32);
  const config = { values: { SECRETS_KEY: keyBytes.toString('base64') } } as unknown as AppConfig;
  const audit = { record: async () => undefined } as unknown as AuditService;

  it('answers many concurrent callers with one read when the cache is empty', async () => {
    const table = fakeTable(keyBytes);
    table.rows.set('token', table.seal('token', 's3cret'));
    const service = new SecretsService(table.db, audit, config);
    const answers = await Promise.all(Array.from({ length: 20 }, () => service.values()));
    expect(table.state.reads).toBe(1);
    for (const a of answers) expect(a).toEqual({ token: 's3cret' });
    await service.values();
    expect(table.state.reads).toBe(1);
  });

  it('does not keep or share a read that started before a write', async () => {
    const table = fakeTable(keyBytes);
    table.rows.set('token', table.seal('token', 'old'));
    const service = new SecretsService(table.db, audit, config);
    let release!: () => void;
    table.state.hold = new Promise<void>((r) => (release = r));
    const before = service.values();
    await service.set('token', 'new', 'test');
    table.state.hold = undefined;
    const after = await service.values();
    release();
    await expect(before).resolves.toEqual({ token: 'old' });
    expect(after).toEqual({ token: 'new' });
    expect(await service.values()).toEqual({ token: 'new' });
    expect(table.state.reads).toBe(2);
  });
});
