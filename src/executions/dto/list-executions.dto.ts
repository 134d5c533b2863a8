import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsArray, IsIn, IsISO8601, IsOptional, IsUUID } from 'class-validator';
import { ListQueryDto } from 'src/common/pagination';
import { EXECUTION_STATUSES, ExecutionStatus } from 'src/executions/execution.entity';

/** `?status=failed&status=cancelled` arrives as an array, a single `?status=failed` as a string. */
const toList = ({ value }: { value: unknown }): unknown =>
  value === undefined || Array.isArray(value) ? value : [value];

/** `GET /executions` (API.md §2): flow, any of several statuses, a createdAt range; newest first. */
export class ListExecutionsDto extends ListQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsUUID() flowId?: string;

  @ApiPropertyOptional({ enum: EXECUTION_STATUSES, isArray: true, description: 'may repeat' })
  @IsOptional()
  @Transform(toList)
  @IsArray()
  @IsIn(EXECUTION_STATUSES, { each: true })
  status?: ExecutionStatus[];

  @ApiPropertyOptional({ description: 'ISO time; createdAt >= from' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'ISO time; createdAt < to' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}
