import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuditReader } from 'src/audit/audit-reader.service';
import { AuditPageDto, ListAuditDto } from 'src/audit/dto/list-audit.dto';
import { ApiKeyGuard } from 'src/auth/api-key.guard';

@ApiTags('audit')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditReader) {}

  @Get()
  @ApiOkResponse({ type: AuditPageDto })
  list(@Query() query: ListAuditDto): Promise<AuditPageDto> {
    return this.audit.list(query);
  }
}
