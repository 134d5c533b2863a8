import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { AuditService } from 'src/audit/audit.service';
import type { AppConfig } from 'src/config/app-config';
import { encryptSecret } from 'src/secrets/secret-cipher';
import { forgetKnownSecrets, maskKnownSecrets } from 'src/secrets/secret-registry';
import { SecretEntity } from 'src/secrets/secret.entity';
import { SecretsService } from 'src/secrets/secrets.service';

/** A secrets table and its version row in memory, whose reads can be held open, counting them. */
function fakeTable(key: Buffer) {
  const rows = new Map<string, SecretEntity>();
  const state = { reads: 0, version: 1, hold: undefined as Promise<void> | undefined };
  const seal = (name: string, value: string): SecretEntity =>
    Object.assign(new SecretEntity(), {
      name,
      value: encryptSecret(key, name, value),
      createdAt: new Date(),
      updatedAt: new Date(),
    });
  /** Another process's write: the row and the version change together. */
  const write = (name: string, value: string): void => {
    rows.set(name, seal(name, value));
    state.version++;
  };
  const manager = {
    findOne: async (_e: unknown, q: { where: { name: string } }) => rows.get(q.where.name) ?? null,
    create: (_e: unknown, r: Partial<SecretEntity>) => Object.assign(new SecretEntity(), r),
    save: async (r: SecretEntity) => {
      r.createdAt ??= new Date();
      r.updatedAt ??= new Date();
      rows.set(r.name, r);
      return r;
    },
    query: async (sql: string) => {
      if (/UPDATE secrets_version/.test(sql)) state.version++;
      return [];
    },
  };
  const db = {
    query: async (sql: string) => {
      if (sql === 'SELECT version FROM secrets_version') return [{ version: state.version }];
      expect(sql).toMatch(/FROM secrets_version v LEFT JOIN secrets s/);
      state.reads++;
      const version = state.version;
      const snapshot = [...rows.values()].map((r) => ({ version, name: r.name, value: r.value }));
      await state.hold;
      return snapshot.length > 0 ? snapshot : [{ version, name: null, value: null }];
    },
    transaction: async <T>(fn: (m: typeof manager) => Promise<T>) => fn(manager),
  };
  return { rows, state, seal, write, db: db as unknown as DataSource };
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

  it('reads again at once when the stamp is newer than its copy, else keeps it', async () => {
    const table = fakeTable(keyBytes);
    table.rows.set('token', table.seal('token', 'old'));
    const service = new SecretsService(table.db, audit, config);
    expect(await service.values(1)).toEqual({ token: 'old' });
    expect(await service.values(1)).toEqual({ token: 'old' });
    expect(table.state.reads).toBe(1);
    // Another process writes: this one's copy may be fresh by the clock, but is older than the stamp.
    table.write('token', 'new');
    const answers = await Promise.all(Array.from({ length: 10 }, () => service.values(2)));
    for (const a of answers) expect(a).toEqual({ token: 'new' });
    expect(table.state.reads).toBe(2);
    expect(await service.values()).toEqual({ token: 'new' });
    table.rows.delete('token');
    table.state.version++;
    expect(await service.values(3)).toEqual({});
  });

  it('latest() answers what is committed now, whatever the age of its copy', async () => {
    const table = fakeTable(keyBytes);
    table.rows.set('token', table.seal('token', 'old'));
    const service = new SecretsService(table.db, audit, config);
    expect(await service.values()).toEqual({ token: 'old' });
    table.write('token', 'new');
    expect(await service.latest()).toEqual({ token: 'new' });
    expect(await service.latest()).toEqual({ token: 'new' });
    expect(table.state.reads).toBe(2);
  });

  it('bumps the version with every write and delete', async () => {
    const table = fakeTable(keyBytes);
    const service = new SecretsService(table.db, audit, config);
    await service.set('a', 'value-a', 'test');
    expect(table.state.version).toBe(2);
    (table.db as unknown as { transaction: unknown }).transaction = async <T>(
      fn: (m: unknown) => Promise<T>,
    ) =>
      fn({
        delete: async () => ({ affected: 1 }),
        query: async () => {
          table.state.version++;
          return [];
        },
      });
    await service.remove('a', 'test');
    expect(table.state.version).toBe(3);
  });

  it('teaches the log masker every value it reads or writes', async () => {
    forgetKnownSecrets();
    const table = fakeTable(keyBytes);
    table.rows.set('token', table.seal('token', 'read-value-1'));
    const service = new SecretsService(table.db, audit, config);
    await service.values();
    await service.set('other', 'written "value"', 'test');
    expect(maskKnownSecrets(JSON.stringify({ msg: 'x read-value-1 y', e: 'a written "value" b' }))).toBe(
      JSON.stringify({ msg: 'x *** y', e: 'a *** b' }),
    );
    forgetKnownSecrets();
  });
});
