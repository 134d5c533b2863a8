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
  Post,
  Put,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Actor, ApiKeyGuard } from 'src/auth/api-key.guard';
import { ListQueryDto } from 'src/common/pagination';
import { DESTINATION_NAME } from 'src/destinations/destination-match';
import { DestinationsService } from 'src/destinations/destinations.service';
import { PutDestinationDto } from 'src/destinations/dto/put-destination.dto';

@Injectable()
class DestinationNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!DESTINATION_NAME.test(value)) {
      throw new BadRequestException([
        'name must be 1 to 63 lower-case letters, digits and -, starting with a letter or digit',
      ]);
    }
    return value;
  }
}

/** /api/v1/destinations (API.md §10): shared limits and a circuit breaker per group of hosts. */
@ApiTags('destinations')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('api/v1/destinations')
export class DestinationsController {
  constructor(private readonly destinations: DestinationsService) {}

  @Put(':name')
  put(
    @Param('name', DestinationNamePipe) name: string,
    @Body() dto: PutDestinationDto,
    @Actor() actor: string,
  ) {
    return this.destinations.put(name, dto, actor);
  }

  @Get()
  list(@Query() query: ListQueryDto) {
    return this.destinations.list(query);
  }

  @Get(':name')
  get(@Param('name', DestinationNamePipe) name: string) {
    return this.destinations.get(name);
  }

  @Delete(':name')
  @HttpCode(204)
  async remove(@Param('name', DestinationNamePipe) name: string, @Actor() actor: string): Promise<void> {
    await this.destinations.remove(name, actor);
  }

  @Post(':name/reset')
  @HttpCode(200)
  reset(@Param('name', DestinationNamePipe) name: string, @Actor() actor: string) {
    return this.destinations.reset(name, actor);
  }
}
