import { Injectable, Logger, NotFoundException, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { SingleFlight } from 'src/common/batcher';
import { decodeCursor, ListQueryDto, Page, toPage } from 'src/common/pagination';
import { AppConfig } from 'src/config/app-config';
import { decryptSecret, encryptSecret, parseSecretsKey } from 'src/secrets/secret-cipher';
import { SecretEntity } from 'src/secrets/secret.entity';
import { rememberSecrets } from 'src/secrets/secret-registry';

export interface SecretInfo {
  name: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * How long a caller that has no version stamp (the accept path: verify, idempotency key and filter in
 * hook.service.ts and route-event.ts callers; API answers; dry runs) trusts this process's copy. No
 * query it already makes can carry the stamp, so a PUT reaches those paths in another process within
 * this bound. Steps never use it: the runner passes the stamp from its batched load.
 */
const CACHE_MS = 250;

interface Snapshot {
  /** `secrets_version.version` when this copy was read. */
  version: number;
  at: number;
  values: Record<string, string>;
}

@Injectable()
export class SecretsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(SecretsService.name);
  private readonly key: Buffer;
  private cached?: Snapshot;
  /** Bumped by every write here: a read that started before it neither fills the cache nor is shared after it. */
  private generation = 0;
  /** When the cache runs out under load, one query refills it, not one per running job. */
  private readonly reads = new SingleFlight<string, Snapshot>((key) => this.read(Number(key.split(':')[0])));

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    config: AppConfig,
  ) {
    this.key = parseSecretsKey(config.values.SECRETS_KEY ?? '');
  }

  /** Teaches the logger's last line of defence the values there are before anything logs one. */
  async onApplicationBootstrap(): Promise<void> {
    await this.values().catch((e: unknown) =>
      this.logger.warn({ error: (e as Error).message }, 'could not read the secrets at start'),
    );
  }

  /**
   * Every secret by name, decrypted: the `$secrets` binding. With `version` (the runner's stamp from
   * its batched load, `secrets_version.version`), the answer is at least that version: every write
   * committed before the stamp was read is in it, in every process and thread. Without, a copy up to
   * CACHE_MS old. Writes here drop this process's copy at once.
   */
  async values(version?: number): Promise<Record<string, string>> {
    const c = this.cached;
    if (c && (version === undefined ? Date.now() - c.at < CACHE_MS : c.version >= version)) return c.values;
    // Keyed by the stamp asked for: a read shared here started after that stamp was committed.
    return (await this.reads.get(`${this.generation}:${version ?? 'any'}`)).values;
  }

  /**
   * The values as of now, for a path that can afford one small query and has no stamp of its own
   * (a dry run that must render what a run would, a manual run's filter): no cache age.
   */
  async latest(): Promise<Record<string, string>> {
    const rows: Array<{ version: number }> = await this.db.query(`SELECT version FROM secrets_version`);
    return this.values(rows[0]?.version ?? 0);
  }

  private async read(generation: number): Promise<Snapshot> {
    const at = Date.now();
    // One statement, one snapshot: the version and the rows it stands for.
    const rows: Array<{ version: number; name: string | null; value: Buffer | null }> = await this.db.query(
      `SELECT v.version, s.name, s.value FROM secrets_version v LEFT JOIN secrets s ON true`,
    );
    const values: Record<string, string> = {};
    for (const r of rows)
      if (r.name !== null && r.value) values[r.name] = decryptSecret(this.key, r.name, r.value);
    rememberSecrets(Object.values(values));
    const snapshot = { version: rows[0]?.version ?? 0, at, values };
    if (generation === this.generation && (!this.cached || snapshot.version >= this.cached.version))
      this.cached = snapshot;
    return snapshot;
  }

  private forget(): void {
    this.generation++;
    this.cached = undefined;
  }

  /** In the write's transaction: readers see the new version only once the write is committed. */
  private async bump(m: EntityManager): Promise<void> {
    await m.query(`UPDATE secrets_version SET version = version + 1`);
  }

  async set(name: string, value: string, actor: string): Promise<SecretInfo> {
    const row = await this.db.transaction(async (m) => {
      const existing = await m.findOne(SecretEntity, {
        where: { name },
        lock: { mode: 'pessimistic_write' },
      });
      // Known to the logger before the value can reach any log line.
      rememberSecrets([value]);
      const sealed = encryptSecret(this.key, name, value);
      const saved = existing
        ? await m.save(Object.assign(existing, { value: sealed, updatedAt: new Date() }))
        : await m.save(m.create(SecretEntity, { name, value: sealed }));
      await this.audit.record(m, { actor, action: 'secret.set', target: `secret:${name}` });
      await this.bump(m);
      return saved;
    });
    this.forget();
    return this.info(row);
  }

  /** Names and dates only, by name; the cursor carries the last name of the page. */
  async list(query: ListQueryDto): Promise<Page<SecretInfo>> {
    const cursor = decodeCursor(query.cursor);
    const qb = this.db
      .getRepository(SecretEntity)
      .createQueryBuilder('s')
      .select(['s.name', 's.createdAt', 's.updatedAt'])
      .orderBy('s.name', 'ASC')
      .limit(query.limit + 1);
    if (cursor) qb.where('s.name > :name', { name: cursor.id });
    const rows = await qb.getMany();
    return toPage(
      rows,
      query.limit,
      (r) => this.info(r),
      (r) => [r.createdAt, r.name],
    );
  }

  async remove(name: string, actor: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const result = await m.delete(SecretEntity, { name });
      if (!result.affected) throw new NotFoundException(`secret ${name} not found`);
      await this.audit.record(m, { actor, action: 'secret.deleted', target: `secret:${name}` });
      await this.bump(m);
    });
    this.forget();
  }

  private info(r: SecretEntity): SecretInfo {
    return { name: r.name, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString() };
  }
}
