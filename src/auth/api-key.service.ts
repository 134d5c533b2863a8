import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { ApiKeyEntity } from 'src/auth/api-key.entity';
import { BOOTSTRAP_ACTOR, hashKey } from 'src/auth/api-key.guard';
import { ApiKeyDto, CreatedApiKeyDto } from 'src/auth/dto/api-key.dto';
import { cursorCreatedAt, decodeCursor, ListQueryDto, Page, toPage } from 'src/common/pagination';

/** Postgres unique violation: the partial index on active key names. */
const UNIQUE_VIOLATION = '23505';

/** Named API keys: the plaintext leaves the process once, at creation; only its sha256 is kept. */
@Injectable()
export class ApiKeyService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  async create(name: string, actor: string): Promise<CreatedApiKeyDto> {
    // The audit log names actors by key name, so a name must point at one key.
    if (name === BOOTSTRAP_ACTOR) throw new ConflictException(`${BOOTSTRAP_ACTOR} is the name of API_KEY`);
    const key = `hf_${randomBytes(24).toString('base64url')}`;
    const id = randomUUID();
    try {
      const row = await this.db.transaction(async (m) => {
        // Checked first for a clean answer; the partial unique index settles a race between two.
        if (await m.exists(ApiKeyEntity, { where: { name, revokedAt: IsNull() } })) {
          throw new ConflictException(`an active API key is already named ${name}`);
        }
        const saved = await m.save(
          m.create(ApiKeyEntity, { id, name, keyHash: hashKey(key), revokedAt: null }),
        );
        await this.audit.record(m, {
          actor,
          action: 'apikey.created',
          target: `apikey:${id}`,
          after: { id, name },
        });
        return saved;
      });
      return { id, name, key, createdAt: row.createdAt.toISOString() };
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION)
        throw new ConflictException(`an active API key is already named ${name}`);
      throw e;
    }
  }

  async list(query: ListQueryDto): Promise<Page<ApiKeyDto>> {
    const cursor = decodeCursor(query.cursor);
    const qb = this.db
      .getRepository(ApiKeyEntity)
      .createQueryBuilder('k')
      .select(['k.id', 'k.name', 'k.createdAt', 'k.revokedAt'])
      .orderBy('k.created_at', 'DESC')
      .addOrderBy('k.id', 'DESC')
      .limit(query.limit + 1);
    if (cursor)
      qb.where(`(k.created_at, k.id) < (${cursorCreatedAt('api_keys', ':id', ':at')}, :id)`, {
        at: cursor.at,
        id: cursor.id,
      });
    const rows = await qb.getMany();
    return toPage(
      rows,
      query.limit,
      (k) => ({
        id: k.id,
        name: k.name,
        createdAt: k.createdAt.toISOString(),
        ...(k.revokedAt ? { revokedAt: k.revokedAt.toISOString() } : {}),
      }),
      (k) => [k.createdAt, k.id],
    );
  }

  /** The guard reads the table on every request, so the key stops working in every process at once. */
  async revoke(id: string, actor: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const key = await m.findOne(ApiKeyEntity, {
        where: { id, revokedAt: IsNull() },
        lock: { mode: 'pessimistic_write' },
      });
      if (!key) throw new NotFoundException(`no active API key ${id}`);
      await m.update(ApiKeyEntity, { id }, { revokedAt: new Date() });
      await this.audit.record(m, {
        actor,
        action: 'apikey.revoked',
        target: `apikey:${id}`,
        before: { id, name: key.name },
      });
    });
  }
}
