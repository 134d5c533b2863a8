import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Actor, ApiKeyGuard } from 'src/auth/api-key.guard';
import { ListQueryDto } from 'src/common/pagination';
import { UuidParamPipe } from 'src/common/uuid-param.pipe';
import { CreateFlowDto, PatchFlowDto, UpdateFlowDto } from 'src/flows/dto/create-flow.dto';
import { FlowService } from 'src/flows/flow.service';

@ApiTags('flows')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('api/v1/flows')
export class FlowController {
  constructor(private readonly flows: FlowService) {}

  @Post()
  create(@Body() dto: CreateFlowDto, @Actor() actor: string) {
    return this.flows.create(dto, actor);
  }

  @Get()
  list(@Query() query: ListQueryDto) {
    return this.flows.list(query);
  }

  @Get(':id')
  async get(@Param('id', UuidParamPipe) id: string) {
    return this.flows.describe(await this.flows.get(id));
  }

  @Put(':id')
  replace(@Param('id', UuidParamPipe) id: string, @Body() dto: UpdateFlowDto, @Actor() actor: string) {
    return this.flows.update(id, dto, actor, true);
  }

  @Patch(':id')
  patch(@Param('id', UuidParamPipe) id: string, @Body() dto: PatchFlowDto, @Actor() actor: string) {
    return this.flows.update(id, dto, actor, false);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', UuidParamPipe) id: string, @Actor() actor: string): Promise<void> {
    await this.flows.remove(id, actor);
  }

  @Get(':id/versions')
  versions(@Param('id', UuidParamPipe) id: string, @Query() query: ListQueryDto) {
    return this.flows.versions(id, query);
  }

  @Post(':id/rotate-token')
  @HttpCode(200)
  rotateToken(@Param('id', UuidParamPipe) id: string, @Actor() actor: string) {
    return this.flows.rotateToken(id, actor);
  }
}
