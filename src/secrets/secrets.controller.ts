import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Injectable,
  Param,
  PipeTransform,
  Put,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Actor, ApiKeyGuard } from 'src/auth/api-key.guard';
import { ListQueryDto } from 'src/common/pagination';
import { SECRET_NAME, SetSecretDto } from 'src/secrets/dto/set-secret.dto';
import { SecretsService } from 'src/secrets/secrets.service';

/** A name that `$secrets.NAME` can address, or 400 naming the field. */
@Injectable()
class SecretNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!SECRET_NAME.test(value)) {
      throw new BadRequestException([
        'name must start with a letter or _, hold only letters, digits and _, and be at most 100 characters',
      ]);
    }
    return value;
  }
}

/** PUT/GET/DELETE /api/v1/secrets (API.md section 2): values go in, names and dates come out. */
@ApiTags('secrets')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('api/v1/secrets')
export class SecretsController {
  constructor(private readonly secrets: SecretsService) {}

  @Put(':name')
  set(@Param('name', SecretNamePipe) name: string, @Body() dto: SetSecretDto, @Actor() actor: string) {
    return this.secrets.set(name, dto.value, actor);
  }

  @Get()
  list(@Query() query: ListQueryDto) {
    return this.secrets.list(query);
  }

  @Delete(':name')
  @HttpCode(204)
  async remove(@Param('name', SecretNamePipe) name: string, @Actor() actor: string): Promise<void> {
    await this.secrets.remove(name, actor);
  }
}
