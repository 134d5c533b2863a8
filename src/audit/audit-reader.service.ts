import { BadRequestException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditEntity } from 'src/audit/audit.entity';
import { AuditPageDto, ListAuditDto } from 'src/audit/dto/list-audit.dto';
import { decodeCursor, toPage } from 'src/common/pagination';

/** The read side of the audit log: newest first by id, which the (flow_id|action, id DESC) indexes serve. */
@Injectable()
export class AuditReader {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async list(query: ListAuditDto): Promise<AuditPageDto> {
    const cursor = decodeCursor(query.cursor);
    if (cursor && !/^\d+$/.test(cursor.id))
      throw new BadRequestException('cursor is not a cursor this API gave out');
    const qb = this.db
      .getRepository(AuditEntity)
      .createQueryBuilder('a')
      .orderBy('a.id', 'DESC')
      .limit(query.limit + 1);
    if (query.flowId) qb.andWhere('a.flow_id = :flowId', { flowId: query.flowId });
    if (query.action) qb.andWhere('a.action = :action', { action: query.action });
    if (cursor) qb.andWhere('a.id < :id', { id: cursor.id });
    const rows = await qb.getMany();
    return toPage(
      rows,
      query.limit,
      (a) => ({
        at: a.at.toISOString(),
        actor: a.actor,
        action: a.action,
        target: a.target,
        ...(a.before !== null ? { before: a.before } : {}),
        ...(a.after !== null ? { after: a.after } : {}),
      }),
      (a) => [a.at, a.id],
    );
  }
}
