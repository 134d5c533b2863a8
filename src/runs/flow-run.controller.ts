import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard } from 'src/auth/api-key.guard';
import { UuidParamPipe } from 'src/common/uuid-param.pipe';
import { DryRunResult, DryRunService } from 'src/runs/dry-run.service';
import { RunFlowDto, TestDefinitionDto, TestFlowDto } from 'src/runs/dto/run-flow.dto';
import { FlowRunService } from 'src/runs/flow-run.service';

@ApiTags('flows')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('api/v1/flows')
export class FlowRunController {
  constructor(
    private readonly runs: FlowRunService,
    private readonly dryRuns: DryRunService,
  ) {}

  /** Manual run: 202 `{executionId}`. */
  @Post(':id/run')
  @HttpCode(202)
  run(@Param('id', UuidParamPipe) id: string, @Body() dto: RunFlowDto): Promise<{ executionId: string }> {
    return this.runs.run(id, dto.payload);
  }

  /** Dry run of a definition that is not saved: nothing is stored or audited. */
  @Post('test')
  @HttpCode(200)
  testDefinition(@Body() dto: TestDefinitionDto): Promise<DryRunResult> {
    return this.dryRuns.testDefinition(dto.definition, dto.event ?? {});
  }

  /** Dry run: what each step would send or give; sends nothing and writes nothing. */
  @Post(':id/test')
  @HttpCode(200)
  test(@Param('id', UuidParamPipe) id: string, @Body() dto: TestFlowDto): Promise<DryRunResult> {
    return this.dryRuns.test(id, dto.event ?? {});
  }
}
