import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { EVENT_TYPE_PATTERN } from 'src/steps/event-publisher';

/** `POST /api/v1/events` (API.md section 2). */
export class PublishEventDto {
  @ApiProperty({ example: 'order.paid' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  @Matches(EVENT_TYPE_PATTERN, { message: 'type may hold letters, digits and _ . : - /' })
  type!: string;

  @ApiPropertyOptional({ description: 'any JSON value; becomes `event.body` (`{}` when absent)' })
  @IsOptional()
  data?: unknown;

  @ApiPropertyOptional({ description: 'a repeated key answers the first result and starts nothing' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  idempotencyKey?: string;
}
