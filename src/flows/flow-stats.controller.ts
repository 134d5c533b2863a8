import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard } from 'src/auth/api-key.guard';
import { UuidParamPipe } from 'src/common/uuid-param.pipe';
import { FlowStatsQueryDto } from 'src/flows/dto/flow-stats-query.dto';
import { FlowStatsService } from 'src/flows/flow-stats.service';

@ApiTags('flows')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('api/v1/flows')
export class FlowStatsController {
  constructor(private readonly stats: FlowStatsService) {}

  /** Runs per time bucket by final status, with p50/p95 durations (API.md §2). */
  @Get(':id/stats')
  get(@Param('id', UuidParamPipe) id: string, @Query() query: FlowStatsQueryDto) {
    return this.stats.stats(id, query);
  }
}
