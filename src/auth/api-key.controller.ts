import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Actor, ApiKeyGuard } from 'src/auth/api-key.guard';
import { ApiKeyService } from 'src/auth/api-key.service';
import { ApiKeyPageDto, CreateApiKeyDto, CreatedApiKeyDto } from 'src/auth/dto/api-key.dto';
import { ListQueryDto } from 'src/common/pagination';
import { UuidParamPipe } from 'src/common/uuid-param.pipe';

@ApiTags('api-keys')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('api/v1/api-keys')
export class ApiKeyController {
  constructor(private readonly keys: ApiKeyService) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  create(@Body() dto: CreateApiKeyDto, @Actor() actor: string): Promise<CreatedApiKeyDto> {
    return this.keys.create(dto.name, actor);
  }

  @Get()
  @ApiOkResponse({ type: ApiKeyPageDto })
  list(@Query() query: ListQueryDto): Promise<ApiKeyPageDto> {
    return this.keys.list(query);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'revoked; requests with it answer 401 from now on' })
  async revoke(@Param('id', UuidParamPipe) id: string, @Actor() actor: string): Promise<void> {
    await this.keys.revoke(id, actor);
  }
}
