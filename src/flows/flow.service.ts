import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { cursorCreatedAt, decodeCursor, ListQueryDto, Page, toPage } from 'src/common/pagination';
import { TriggerStatusStore } from 'src/brokers/trigger-status.store';
import { AppConfig } from 'src/config/app-config';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { CompiledFlow, compileFlow, FlowDefinitionError, validateDefinition } from 'src/flows/flow-compiler';
import { FlowDefinition } from 'src/flows/flow-definition';
import { FlowEntity, FlowVersionEntity } from 'src/flows/flow.entity';
import { CreateFlowDto, PatchFlowDto } from 'src/flows/dto/create-flow.dto';

export interface FlowResponse {
  id: string;
  name: string;
  description?: string;
  enabled: boolean;
  version: number;
  trigger: Record<string, unknown>;
  filter?: string;
  steps: FlowDefinition['steps'];
  createdAt: string;
  updatedAt: string;
}

/** Listeners for flow changes (schedules re-plan, caches drop entries). */
export interface FlowChangeListener {
  flowChanged(flow: FlowEntity | null, flowId: string): Promise<void>;
}

/** 192 random bits, URL-safe. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

@Injectable()
export class FlowService {
  private readonly listeners: FlowChangeListener[] = [];

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cache: FlowCacheService,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
    private readonly triggerStatus: TriggerStatusStore,
  ) {}

  onChange(listener: FlowChangeListener): void {
    this.listeners.push(listener);
  }

  toResponse(flow: FlowEntity): FlowResponse {
    const { trigger, filter, steps, onError, concurrency } = flow.definition;
    return {
      id: flow.id,
      name: flow.name,
      ...(flow.description !== null ? { description: flow.description } : {}),
      enabled: flow.enabled,
      version: flow.version,
      trigger: {
        ...trigger,
        ...(flow.token
          ? { token: flow.token, url: `${this.config.values.publicUrl}/hooks/${flow.token}` }
          : {}),
      },
      ...(filter !== undefined ? { filter } : {}),
      steps,
      ...(onError ? { onError } : {}),
      ...(concurrency ? { concurrency } : {}),
      createdAt: flow.createdAt.toISOString(),
      updatedAt: flow.updatedAt.toISOString(),
    };
  }

  /** GET /flows/{id}: the answer, with a broker trigger's `status` (API.md §11). */
  async describe(flow: FlowEntity): Promise<FlowResponse> {
    const response = this.toResponse(flow);
    const status = await this.triggerStatus.forFlow(flow);
    if (status) response.trigger.status = status;
    return response;
  }

  /** Validates and compiles a definition, or answers 400 naming every bad field. */
  private checked(
    id: string,
    name: string,
    version: number,
    dto: Pick<CreateFlowDto, 'trigger' | 'filter' | 'steps' | 'onError' | 'concurrency'>,
  ): FlowDefinition {
    const flow = this.compile({ id, name, version }, dto);
    this.cache.remember(flow);
    return flow.definition;
  }

  /** Validates and compiles a definition without storing it (also `POST /flows/test`); 400 names every bad field. */
  compile(
    meta: { id: string; name: string; version: number },
    dto: Pick<CreateFlowDto, 'trigger' | 'filter' | 'steps' | 'onError' | 'concurrency'>,
  ): CompiledFlow {
    const { definition, errors } = validateDefinition(dto);
    if (errors.length > 0) throw new BadRequestException(errors);
    try {
      return compileFlow(meta, definition);
    } catch (e) {
      if (e instanceof FlowDefinitionError) throw new BadRequestException(e.messages);
      throw e;
    }
  }

  async create(dto: CreateFlowDto, actor: string): Promise<FlowResponse> {
    const id = randomUUID();
    const definition = this.checked(id, dto.name, 1, dto);
    const flow = await this.db.transaction(async (m) => {
      const row = m.create(FlowEntity, {
        id,
        name: dto.name,
        description: dto.description ?? null,
        enabled: dto.enabled ?? true,
        version: 1,
        ...this.triggerColumns(definition, null),
        definition,
        deletedAt: null,
      });
      await m.save(row);
      await this.saveVersion(m, row);
      await this.audit.record(m, {
        actor,
        action: 'flow.created',
        target: `flow:${id}`,
        flowId: id,
        after: this.snapshot(row),
      });
      return row;
    });
    await this.notify(flow);
    return this.toResponse(flow);
  }

  async list(query: ListQueryDto): Promise<Page<FlowResponse>> {
    const cursor = decodeCursor(query.cursor);
    const qb = this.db
      .getRepository(FlowEntity)
      .createQueryBuilder('f')
      .where('f.deleted_at IS NULL')
      .orderBy('f.created_at', 'DESC')
      .addOrderBy('f.id', 'DESC')
      .limit(query.limit + 1);
    if (cursor)
      qb.andWhere(`(f.created_at, f.id) < (${cursorCreatedAt('flows', ':id', ':at')}, :id)`, {
        at: cursor.at,
        id: cursor.id,
      });
    const rows = await qb.getMany();
    return toPage(
      rows,
      query.limit,
      (f) => this.toResponse(f),
      (f) => [f.createdAt, f.id],
    );
  }

  async get(id: string): Promise<FlowEntity> {
    const flow = await this.db.getRepository(FlowEntity).findOne({ where: { id, deletedAt: IsNull() } });
    if (!flow) throw new NotFoundException(`flow ${id} not found`);
    return flow;
  }

  /** PUT replaces the definition; PATCH changes what it names. Either way a new definition is a new version. */
  async update(id: string, dto: PatchFlowDto, actor: string, replace: boolean): Promise<FlowResponse> {
    const flow = await this.db.transaction(async (m) => {
      const row = await m.findOne(FlowEntity, {
        where: { id, deletedAt: IsNull() },
        lock: { mode: 'pessimistic_write' },
      });
      if (!row) throw new NotFoundException(`flow ${id} not found`);
      const before = this.snapshot(row);
      const touchesDefinition =
        replace ||
        dto.trigger !== undefined ||
        dto.filter !== undefined ||
        dto.steps !== undefined ||
        dto.onError !== undefined ||
        dto.concurrency !== undefined;
      const wasEnabled = row.enabled;
      if (dto.name !== undefined) row.name = dto.name;
      if (replace || dto.description !== undefined) row.description = dto.description ?? null;
      if (replace || dto.enabled !== undefined) row.enabled = dto.enabled ?? true;
      if (touchesDefinition) {
        const next = {
          trigger: dto.trigger ?? row.definition.trigger,
          filter: replace ? dto.filter : dto.filter === undefined ? row.definition.filter : dto.filter,
          steps: dto.steps ?? row.definition.steps,
          onError: replace ? dto.onError : dto.onError === undefined ? row.definition.onError : dto.onError,
          concurrency: replace
            ? dto.concurrency
            : dto.concurrency === undefined
              ? row.definition.concurrency
              : dto.concurrency,
        };
        row.definition = this.checked(id, row.name, row.version + 1, next as CreateFlowDto);
        row.version += 1;
        Object.assign(row, this.triggerColumns(row.definition, row.token));
      } else if (dto.name !== undefined || dto.description !== undefined) {
        // Name and description travel with versions too, so a new version records them.
        row.version += 1;
        this.cache.remember(compileFlow({ id, name: row.name, version: row.version }, row.definition));
      }
      row.updatedAt = new Date();
      await m.save(row);
      if (row.version !== before.version) await this.saveVersion(m, row);
      if (row.version !== before.version) {
        await this.audit.record(m, {
          actor,
          action: 'flow.updated',
          target: `flow:${id}`,
          flowId: id,
          before,
          after: this.snapshot(row),
        });
      }
      if (wasEnabled !== row.enabled) {
        await this.audit.record(m, {
          actor,
          action: row.enabled ? 'flow.enabled' : 'flow.disabled',
          target: `flow:${id}`,
          flowId: id,
          before: { enabled: wasEnabled },
          after: { enabled: row.enabled },
        });
      }
      return row;
    });
    await this.notify(flow);
    return this.toResponse(flow);
  }

  async remove(id: string, actor: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const row = await m.findOne(FlowEntity, {
        where: { id, deletedAt: IsNull() },
        lock: { mode: 'pessimistic_write' },
      });
      if (!row) throw new NotFoundException(`flow ${id} not found`);
      const before = this.snapshot(row);
      await m.update(FlowEntity, { id }, { deletedAt: new Date(), token: null, enabled: false });
      await this.audit.record(m, { actor, action: 'flow.deleted', target: `flow:${id}`, flowId: id, before });
    });
    await this.notifyDeleted(id);
  }

  async rotateToken(id: string, actor: string): Promise<FlowResponse> {
    const flow = await this.db.transaction(async (m) => {
      const row = await m.findOne(FlowEntity, {
        where: { id, deletedAt: IsNull() },
        lock: { mode: 'pessimistic_write' },
      });
      if (!row) throw new NotFoundException(`flow ${id} not found`);
      if (row.definition.trigger.type !== 'webhook')
        throw new BadRequestException('only webhook flows have a token');
      row.token = newToken();
      row.updatedAt = new Date();
      await m.save(row);
      // The token itself is a credential: the audit record says that it changed, not what it is.
      await this.audit.record(m, { actor, action: 'flow.token_rotated', target: `flow:${id}`, flowId: id });
      return row;
    });
    return this.toResponse(flow);
  }

  async versions(id: string, query: ListQueryDto): Promise<Page<Record<string, unknown>>> {
    await this.get(id);
    const cursor = decodeCursor(query.cursor);
    const qb = this.db
      .getRepository(FlowVersionEntity)
      .createQueryBuilder('v')
      .where('v.flow_id = :id', { id })
      .orderBy('v.version', 'DESC')
      .limit(query.limit + 1);
    if (cursor) qb.andWhere('v.version < :version', { version: Number(cursor.id) });
    const rows = await qb.getMany();
    return toPage(
      rows,
      query.limit,
      (v) => ({
        version: v.version,
        name: v.name,
        ...(v.description !== null ? { description: v.description } : {}),
        ...v.definition,
        createdAt: v.createdAt.toISOString(),
      }),
      (v) => [v.createdAt, v.version],
    );
  }

  private triggerColumns(
    definition: FlowDefinition,
    token: string | null,
  ): Pick<FlowEntity, 'triggerType' | 'eventType' | 'token'> {
    const t = definition.trigger;
    return {
      triggerType: t.type,
      eventType: t.type === 'event' ? t.event : null,
      token: t.type === 'webhook' ? (token ?? newToken()) : null,
    };
  }

  private async saveVersion(m: EntityManager, row: FlowEntity): Promise<void> {
    await m.save(
      m.create(FlowVersionEntity, {
        flowId: row.id,
        version: row.version,
        name: row.name,
        description: row.description,
        definition: row.definition,
      }),
    );
  }

  /** What the audit log keeps of a flow: its definition and state, never its token. */
  private snapshot(row: FlowEntity): Record<string, unknown> & { version: number } {
    return {
      name: row.name,
      description: row.description,
      enabled: row.enabled,
      version: row.version,
      ...row.definition,
    };
  }

  private async notify(flow: FlowEntity): Promise<void> {
    for (const l of this.listeners) await l.flowChanged(flow, flow.id);
  }

  private async notifyDeleted(id: string): Promise<void> {
    for (const l of this.listeners) await l.flowChanged(null, id);
  }
}
