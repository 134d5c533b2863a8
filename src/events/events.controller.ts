import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiKeyGuard } from 'src/auth/api-key.guard';
import { PublishEventDto } from 'src/events/dto/publish-event.dto';
import { EventsService } from 'src/events/events.service';

@ApiTags('events')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('api/v1/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  /** 202 with the runs it started; a repeated idempotencyKey answers 200 with the first result. */
  @Post()
  @HttpCode(202)
  async publish(@Body() dto: PublishEventDto, @Res({ passthrough: true }) reply: FastifyReply) {
    const published = await this.events.publish({
      type: dto.type,
      data: dto.data,
      idempotencyKey: dto.idempotencyKey,
      depth: 0,
    });
    const answer = { eventId: published.eventId, executionIds: published.executionIds };
    if (!published.duplicate) return answer;
    void reply.code(200);
    return { ...answer, duplicate: true };
  }
}
