import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional } from 'class-validator';

/** `POST /flows/{id}/run`: the payload becomes `event.body` (`{}` when absent). */
export class RunFlowDto {
  @ApiPropertyOptional({ description: 'any JSON value', example: { orderId: 42 } })
  @IsOptional()
  payload?: unknown;
}

/** `POST /flows/{id}/test`: the event the dry run evaluates the flow against. */
export class TestFlowDto {
  @ApiPropertyOptional({
    description:
      'the event as expressions see it (`body`, `headers`, `query`, `method`, `name`, ...); missing fields are filled in',
    example: { body: { ref: 'refs/heads/main' }, headers: { 'x-github-event': 'push' } },
  })
  @IsOptional()
  @IsObject()
  event?: Record<string, unknown>;
}
