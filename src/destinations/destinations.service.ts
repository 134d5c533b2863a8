import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { decodeCursor, ListQueryDto, Page, toPage } from 'src/common/pagination';
import { DestinationLimiter } from 'src/destinations/destination-limiter.service';
import { DestinationRegistry } from 'src/destinations/destination-registry.service';
import { DestinationEntity } from 'src/destinations/destination.entity';
import { PutDestinationDto } from 'src/destinations/dto/put-destination.dto';

export interface DestinationState {
  circuit: 'closed' | 'open' | 'half-open';
  openedAt?: string;
  inFlight: number;
  waiting: number;
}

export interface DestinationView {
  name: string;
  match: string[];
  rateLimit?: { max: number; perMs: number };
  concurrency?: number;
  circuitBreaker?: { failures: number; cooldownMs: number };
  createdAt: string;
  updatedAt: string;
  state?: DestinationState;
}

/** PUT/GET/DELETE /destinations and reset (API.md §10): definitions in PostgreSQL, state in Redis. */
@Injectable()
export class DestinationsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly registry: DestinationRegistry,
    private readonly limiter: DestinationLimiter,
  ) {}

  async put(name: string, dto: PutDestinationDto, actor: string): Promise<DestinationView> {
    if (!dto.rateLimit && dto.concurrency === undefined && !dto.circuitBreaker) {
      throw new BadRequestException(['give at least one of rateLimit, concurrency or circuitBreaker']);
    }
    const saved = await this.db.transaction(async (m) => {
      const before = await m.findOne(DestinationEntity, {
        where: { name },
        lock: { mode: 'pessimistic_write' },
      });
      const row = m.create(DestinationEntity, {
        ...(before ?? {}),
        name,
        match: dto.match.map((p) => p.trim().toLowerCase()),
        rateLimit: dto.rateLimit ? { max: dto.rateLimit.max, perMs: dto.rateLimit.perMs } : null,
        concurrency: dto.concurrency ?? null,
        circuitBreaker: dto.circuitBreaker
          ? { failures: dto.circuitBreaker.failures, cooldownMs: dto.circuitBreaker.cooldownMs }
          : null,
        updatedAt: new Date(),
      });
      const out = await m.save(row);
      await this.audit.record(m, {
        actor,
        action: 'destination.set',
        target: `destination:${name}`,
        before: before ? this.definition(before) : undefined,
        after: this.definition(out),
      });
      return out;
    });
    await this.registry.changed();
    // A limit raised or removed: whoever waits looks again now.
    this.limiter.wake(await this.waiters(name));
    return this.view(saved);
  }

  async get(name: string): Promise<DestinationView> {
    const row = await this.db.getRepository(DestinationEntity).findOne({ where: { name } });
    if (!row) throw new NotFoundException(`destination ${name} not found`);
    return { ...this.view(row), state: await this.state(row) };
  }

  async list(query: ListQueryDto): Promise<Page<DestinationView>> {
    const cursor = decodeCursor(query.cursor);
    const qb = this.db
      .getRepository(DestinationEntity)
      .createQueryBuilder('d')
      .orderBy('d.name', 'ASC')
      .limit(query.limit + 1);
    if (cursor) qb.where('d.name > :name', { name: cursor.id });
    const rows = await qb.getMany();
    return toPage(
      rows,
      query.limit,
      (r) => this.view(r),
      (r) => [r.createdAt, r.name],
    );
  }

  async remove(name: string, actor: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const before = await m.findOne(DestinationEntity, { where: { name } });
      if (!before) throw new NotFoundException(`destination ${name} not found`);
      await m.delete(DestinationEntity, { name });
      await this.audit.record(m, {
        actor,
        action: 'destination.deleted',
        target: `destination:${name}`,
        before: this.definition(before),
      });
    });
    await this.registry.changed();
    // Whatever waited for it goes now; its state goes with it.
    const jobs = await this.waiters(name);
    const k = this.registry.keys(name);
    await this.registry.redis.del(k.s, k.l, k.w, k.j, k.d, k.r);
    this.limiter.wake(jobs);
  }

  async reset(name: string, actor: string): Promise<DestinationView> {
    const row = await this.db.getRepository(DestinationEntity).findOne({ where: { name } });
    if (!row) throw new NotFoundException(`destination ${name} not found`);
    if (await this.limiter.reset(name)) await this.limiter.circuitChanged(name, false, actor);
    return { ...this.view(row), state: await this.state(row) };
  }

  /** Live state for GET and /metrics: the circuit, leases not yet expired, steps in line. */
  async state(row: DestinationEntity): Promise<DestinationState> {
    const k = this.registry.keys(row.name);
    const now = Date.now();
    const res = await this.registry.redis
      .multi()
      .hmget(k.s, 'circuit', 'openedAt')
      .zcount(k.l, now, '+inf')
      .zcard(k.w)
      .zcount(k.r, now, '+inf')
      .exec();
    const [circuit, openedAt] = (res?.[0]?.[1] as Array<string | null> | undefined) ?? [];
    const opened = openedAt ? Number(openedAt) : undefined;
    let shown: DestinationState['circuit'] =
      circuit === 'open' || circuit === 'half-open' ? circuit : 'closed';
    if (!row.circuitBreaker) shown = 'closed';
    // Past its cooldown an open circuit lets the next attempt through as the probe.
    if (shown === 'open' && opened !== undefined && now >= opened + (row.circuitBreaker?.cooldownMs ?? 0))
      shown = 'half-open';
    return {
      circuit: shown,
      ...(shown !== 'closed' && opened !== undefined ? { openedAt: new Date(opened).toISOString() } : {}),
      inFlight: Number(res?.[1]?.[1] ?? 0),
      // In line for a slot or the circuit, or holding a rate slot still to come.
      waiting: Number(res?.[2]?.[1] ?? 0) + Number(res?.[3]?.[1] ?? 0),
    };
  }

  private async waiters(name: string): Promise<string[]> {
    return this.registry.redis.hvals(this.registry.keys(name).j).catch(() => []);
  }

  private definition(r: DestinationEntity): Omit<DestinationView, 'createdAt' | 'updatedAt' | 'state'> {
    return {
      name: r.name,
      match: r.match,
      ...(r.rateLimit ? { rateLimit: r.rateLimit } : {}),
      ...(r.concurrency !== null ? { concurrency: r.concurrency } : {}),
      ...(r.circuitBreaker ? { circuitBreaker: r.circuitBreaker } : {}),
    };
  }

  private view(r: DestinationEntity): DestinationView {
    return {
      ...this.definition(r),
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
    };
  }
}
