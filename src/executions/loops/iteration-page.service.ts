import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { ListQueryDto, Page } from 'src/common/pagination';
import { Sql } from 'src/database/sql.service';
import { IterationRepository } from 'src/executions/loops/iteration.repository';
import {
  bodyLoops,
  enclosingItems,
  loopPath,
  loopPathTemplates,
  parseLoopPath,
} from 'src/executions/loops/loop-path';
import { itemRecordsView } from 'src/executions/step-records-view';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { maskSecrets } from 'src/secrets/secret-cipher';
import { SecretsService } from 'src/secrets/secrets.service';

export const ITEM_STATUSES = ['pending', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] as const;

/** `GET /executions/{id}/iterations` (API.md section 2). */
export class ListIterationsDto extends ListQueryDto {
  @ApiPropertyOptional({
    description:
      'the forEach step; may be left out when the flow has one. A forEach inside another one runs once per ' +
      'item of it: `outer[3].inner` names its run in item 3 of `outer`',
  })
  @IsOptional()
  @IsString()
  @MaxLength(400)
  step?: string;

  @ApiPropertyOptional({ enum: ITEM_STATUSES })
  @IsOptional()
  @IsIn(ITEM_STATUSES)
  status?: string;
}

function encodeItemCursor(idx: number): string {
  return Buffer.from(JSON.stringify({ idx })).toString('base64url');
}

function decodeItemCursor(cursor: string | undefined): number {
  if (!cursor) return -1;
  try {
    const { idx } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { idx?: unknown };
    if (typeof idx === 'number' && Number.isInteger(idx) && idx >= 0) return idx;
  } catch {
    // fall through
  }
  throw new BadRequestException('cursor is not a cursor this API gave out');
}

/** Pages one forEach's items in item order, each with its steps' records (API.md section 6 shape). */
@Injectable()
export class IterationPageService {
  constructor(
    private readonly sql: Sql,
    private readonly iterations: IterationRepository,
    private readonly flows: FlowCacheService,
    private readonly secrets: SecretsService,
  ) {}

  async page(executionId: string, q: ListIterationsDto): Promise<Page<Record<string, unknown>>> {
    const rows = await this.sql.rows<{ flow_id: string; flow_version: number }>(
      `SELECT flow_id, flow_version FROM executions WHERE id = $1`,
      [executionId],
    );
    if (!rows[0]) throw new NotFoundException(`execution ${executionId} not found`);
    const flow = await this.flows.get(rows[0].flow_id, rows[0].flow_version);
    const templates = loopPathTemplates(flow.steps);
    const named = () => [...templates.values()].join(', ') || 'none';
    const path = q.step ?? (templates.size === 1 ? [...templates.values()][0] : undefined);
    if (path === undefined)
      throw new BadRequestException([`step must name one of this flow's forEach steps: ${named()}`]);
    const { stepId } = parseLoopPath(path);
    const step = flow.byId.get(stepId);
    // The path's shape must be the flow's: `outer[<index>].inner` for a loop in outer's items.
    const shape = [
      ...enclosingItems(path).map((a) => `${parseLoopPath(a.loop).stepId}[<index>].`),
      stepId,
    ].join('');
    if (!step?.loop || templates.get(stepId) !== shape)
      throw new BadRequestException([`step "${path}" is not a forEach of this flow: ${named()}`]);
    const body = step.loop.steps;
    const found = await this.iterations.page(
      executionId,
      path,
      q.status,
      decodeItemCursor(q.cursor),
      q.limit + 1,
    );
    const more = found.length > q.limit;
    const shown = more ? found.slice(0, q.limit) : found;
    // The counters of the loops inside these items (one run per item each).
    const inner = bodyLoops(body);
    const counters = await this.iterations.countersOf(
      executionId,
      shown.flatMap((r) => inner.map((id) => loopPath(id, { loop: path, idx: r.idx }))),
    );
    const items = shown.map((r) => ({
      index: r.idx,
      status: r.status,
      item: r.item,
      ...(r.status === 'succeeded' ? { output: r.output } : {}),
      ...(r.error !== null ? { error: r.error } : {}),
      steps: itemRecordsView(
        body,
        r.steps,
        r.status === 'cancelled' ? 'cancelled' : 'pending',
        new Map(
          inner.flatMap((id) => {
            const c = counters.get(loopPath(id, { loop: path, idx: r.idx }));
            return c ? [[id, c] as const] : [];
          }),
        ),
      ),
    }));
    const secrets = Object.values(await this.secrets.values());
    return {
      items: maskSecrets(items, secrets),
      nextCursor: more ? encodeItemCursor(items[items.length - 1].index) : null,
    };
  }
}
