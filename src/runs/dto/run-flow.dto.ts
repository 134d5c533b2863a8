import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, IsOptional, ValidateNested } from 'class-validator';
import { CreateFlowDto } from 'src/flows/dto/create-flow.dto';

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

/** `POST /flows/test`: a dry run of a definition that is not saved (a body as for `POST /flows`). */
export class TestDefinitionDto extends TestFlowDto {
  @ApiProperty({ type: CreateFlowDto })
  @IsObject()
  @ValidateNested()
  @Type(() => CreateFlowDto)
  definition!: CreateFlowDto;
}
