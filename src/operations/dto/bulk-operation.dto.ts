import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { EXECUTION_STATUSES, ExecutionStatus } from 'src/executions/execution.entity';
import { BULK_ACTIONS, BulkAction } from 'src/operations/bulk-scope';

/** Which executions a bulk operation acts on (API.md §12); every field narrows the set. */
export class BulkFilterDto {
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID() flowId?: string;

  @ApiPropertyOptional({ enum: EXECUTION_STATUSES, isArray: true })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(EXECUTION_STATUSES.length * 2)
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

  @ApiPropertyOptional({ description: 'the step the execution failed or waits at' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  stepId?: string;

  @ApiPropertyOptional({ description: 'text the execution error contains (case-insensitive)' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  error?: string;
}

export class BulkOperationDto {
  @ApiProperty({ enum: BULK_ACTIONS }) @IsIn(BULK_ACTIONS) action!: BulkAction;

  @ApiProperty({ type: BulkFilterDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => BulkFilterDto)
  filter!: BulkFilterDto;

  @ApiPropertyOptional({ description: 'only count the matching executions' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}
