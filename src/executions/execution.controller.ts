import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Actor, ApiKeyGuard } from 'src/auth/api-key.guard';
import { UuidParamPipe } from 'src/common/uuid-param.pipe';
import { ListExecutionsDto } from 'src/executions/dto/list-executions.dto';
import { ExecutionService } from 'src/executions/execution.service';
import { IterationPageService, ListIterationsDto } from 'src/executions/loops/iteration-page.service';

@ApiTags('executions')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('api/v1/executions')
export class ExecutionController {
  constructor(
    private readonly executions: ExecutionService,
    private readonly iterations: IterationPageService,
  ) {}

  @Get()
  list(@Query() query: ListExecutionsDto) {
    return this.executions.list(query);
  }

  @Get(':id')
  get(@Param('id', UuidParamPipe) id: string) {
    return this.executions.get(id);
  }

  @Get(':id/iterations')
  listIterations(@Param('id', UuidParamPipe) id: string, @Query() query: ListIterationsDto) {
    return this.iterations.page(id, query);
  }

  @Post(':id/retry')
  @HttpCode(202)
  retry(@Param('id', UuidParamPipe) id: string, @Actor() actor: string) {
    return this.executions.retry(id, actor);
  }

  @Post(':id/replay')
  @HttpCode(202)
  replay(@Param('id', UuidParamPipe) id: string, @Actor() actor: string) {
    return this.executions.replay(id, actor);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Param('id', UuidParamPipe) id: string, @Actor() actor: string) {
    return this.executions.cancel(id, actor);
  }
}
