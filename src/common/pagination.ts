import { BadRequestException } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class ListQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Keyset cursor over (created_at, id), newest first: stable while rows are added. The cursor holds
 * created_at to the millisecond (a JS Date) while PostgreSQL keeps microseconds, so the queries
 * compare with the cursor row's own created_at, read by its id ({@link cursorCreatedAt}); the
 * cursor's time is only the fallback for a row that is gone.
 */
export interface Cursor {
  at: string;
  id: string;
}

/** SQL for the cursor row's exact created_at: `table` is trusted text, the two parameters are named. */
export function cursorCreatedAt(table: string, idParam: string, atParam: string): string {
  return `COALESCE((SELECT created_at FROM ${table} WHERE id = ${idParam}), ${atParam}::timestamptz)`;
}

export function encodeCursor(at: Date, id: string | number): string {
  return Buffer.from(JSON.stringify({ at: at.toISOString(), id: String(id) })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Cursor | undefined {
  if (!cursor) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (
      typeof parsed.at === 'string' &&
      !Number.isNaN(Date.parse(parsed.at)) &&
      typeof parsed.id === 'string'
    ) {
      return { at: parsed.at, id: parsed.id };
    }
  } catch {
    // fall through
  }
  throw new BadRequestException('cursor is not a cursor this API gave out');
}

/** Cuts a `limit + 1` result to a page and its next cursor. */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  map: (r: R) => T,
  key: (r: R) => [Date, string | number],
): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return { items: items.map(map), nextCursor: more && last ? encodeCursor(...key(last)) : null };
}
