import { Body, Controller, Get, HttpCode, Param, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Actor, ApiKeyGuard } from 'src/auth/api-key.guard';
import { UuidParamPipe } from 'src/common/uuid-param.pipe';
import { BulkOperationDto } from 'src/operations/dto/bulk-operation.dto';
import { OperationService } from 'src/operations/operation.service';

@ApiTags('operations')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('api/v1')
export class OperationController {
  constructor(private readonly operations: OperationService) {}

  /** Dry run: 200 `{matched}`; else 202 `{operationId, matched}`, the work goes on in the background. */
  @Post('executions/bulk')
  @HttpCode(202)
  async bulk(
    @Body() dto: BulkOperationDto,
    @Actor() actor: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const answer = await this.operations.start(dto, actor);
    if (dto.dryRun) void reply.code(200);
    return answer;
  }

  @Get('operations/:id')
  get(@Param('id', UuidParamPipe) id: string) {
    return this.operations.get(id);
  }

  @Post('operations/:id/cancel')
  @HttpCode(200)
  cancel(@Param('id', UuidParamPipe) id: string) {
    return this.operations.cancel(id);
  }
}
