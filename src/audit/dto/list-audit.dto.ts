import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID, Matches } from 'class-validator';
import { ListQueryDto } from 'src/common/pagination';

export class ListAuditDto extends ListQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'only records about this flow' })
  @IsOptional()
  @IsUUID()
  flowId?: string;

  @ApiPropertyOptional({ example: 'flow.updated' })
  @IsOptional()
  @Matches(/^[a-z_]+\.[a-z_]+$/, { message: 'action must look like flow.updated' })
  action?: string;
}

export class AuditRecordDto {
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ description: 'name of the API key used (`bootstrap` for API_KEY)' }) actor!: string;
  @ApiProperty({ example: 'flow.updated' }) action!: string;
  @ApiProperty({
    example: 'flow:3f0c…',
    description: 'flow:<id>, secret:<name>, apikey:<id> or execution:<id>',
  })
  target!: string;
  @ApiPropertyOptional({ description: 'state before the change (for flows: the definition)' })
  before?: unknown;
  @ApiPropertyOptional({ description: 'state after the change (for flows: the definition)' }) after?: unknown;
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditRecordDto] }) items!: AuditRecordDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
