import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { SingleFlight } from 'src/common/batcher';
import { decodeCursor, ListQueryDto, Page, toPage } from 'src/common/pagination';
import { AppConfig } from 'src/config/app-config';
import { decryptSecret, encryptSecret, parseSecretsKey } from 'src/secrets/secret-cipher';
import { SecretEntity } from 'src/secrets/secret.entity';

export interface SecretInfo {
  name: string;
  createdAt: string;
  updatedAt: string;
}

/** How long a process trusts its decrypted copy before it reads the table again. */
const CACHE_MS = 1000;

@Injectable()
export class SecretsService {
  private readonly key: Buffer;
  private cached?: { at: number; values: Record<string, string> };
  /** Bumped by every write here: a read that started before it neither fills the cache nor is shared after it. */
  private generation = 0;
  /** When the cache runs out under load, one query refills it, not one per running job. */
  private readonly reads = new SingleFlight<number, Record<string, string>>((generation) =>
    this.read(generation),
  );

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    config: AppConfig,
  ) {
    this.key = parseSecretsKey(config.values.SECRETS_KEY ?? '');
  }

  /** Every secret by name, decrypted: the `$secrets` binding. Cached briefly; writes here drop the cache. */
  async values(): Promise<Record<string, string>> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.values;
    return this.reads.get(this.generation);
  }

  private async read(generation: number): Promise<Record<string, string>> {
    const at = Date.now();
    const rows = await this.db.getRepository(SecretEntity).find();
    const values: Record<string, string> = {};
    for (const r of rows) values[r.name] = decryptSecret(this.key, r.name, r.value);
    if (generation === this.generation) this.cached = { at, values };
    return values;
  }

  private forget(): void {
    this.generation++;
    this.cached = undefined;
  }

  async set(name: string, value: string, actor: string): Promise<SecretInfo> {
    const row = await this.db.transaction(async (m) => {
      const existing = await m.findOne(SecretEntity, {
        where: { name },
        lock: { mode: 'pessimistic_write' },
      });
      const sealed = encryptSecret(this.key, name, value);
      const saved = existing
        ? await m.save(Object.assign(existing, { value: sealed, updatedAt: new Date() }))
        : await m.save(m.create(SecretEntity, { name, value: sealed }));
      await this.audit.record(m, { actor, action: 'secret.set', target: `secret:${name}` });
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
    });
    this.forget();
  }

  private info(r: SecretEntity): SecretInfo {
    return { name: r.name, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString() };
  }
}
