import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional } from 'class-validator';
import { STAT_BUCKET_NAMES, type StatBucket } from 'src/flows/flow-stats-window';

/** `GET /flows/{id}/stats` (API.md §2): a finishedAt range cut into buckets. */
export class FlowStatsQueryDto {
  @ApiPropertyOptional({
    description: 'ISO time; default: `to` minus 24 h. Rounded down to a bucket edge (UTC).',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'ISO time; default: now. Rounded up to a bucket edge (UTC).' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({
    enum: STAT_BUCKET_NAMES,
    default: '1h',
    description: 'bucket size; from–to may span at most 1,000 buckets',
  })
  @IsOptional()
  @IsIn(STAT_BUCKET_NAMES)
  bucket?: StatBucket;
}
