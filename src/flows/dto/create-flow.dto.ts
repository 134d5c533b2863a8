import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { IsArray, IsBoolean, IsObject, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

/**
 * The top of a flow. `trigger` and `steps` are checked field by field against their type's DTO by
 * the flow compiler (their shape depends on `type`), with the same "unknown field → 400" rule.
 */
export class CreateFlowDto {
  @ApiProperty({ example: 'GitHub push to Slack' }) @IsString() @MinLength(1) @MaxLength(200) name!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(2000) description?: string;
  @ApiPropertyOptional({ default: true }) @IsOptional() @IsBoolean() enabled?: boolean;
  @ApiProperty({
    description: 'webhook, schedule or event trigger (API.md section 3)',
    example: { type: 'webhook', methods: ['POST'] },
  })
  @IsObject()
  trigger!: Record<string, unknown>;
  @ApiPropertyOptional({ description: 'JSONata; falsy → the execution is `filtered`' })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  filter?: string;
  @ApiProperty({
    description: 'transform, http, slack, delay or emit steps',
    type: 'array',
    items: { type: 'object' },
    example: [{ id: 'shape', type: 'transform', expression: '{"who": event.body.user}' }],
  })
  @IsArray()
  steps!: Array<Record<string, unknown>>;
  @ApiPropertyOptional({
    description: 'steps that run once when an execution is about to end failed, with `error` in the input',
    example: {
      steps: [
        { id: 'alert', type: 'slack', webhookUrl: '{{ $secrets.SLACK_HOOK }}', text: '{{ error.message }}' },
      ],
    },
  })
  @IsOptional()
  @IsObject()
  onError?: { steps: Array<Record<string, unknown>> } | null;
  @ApiPropertyOptional({
    description:
      'at most `limit` executions started and not final at a time (per value of the JSONata `key`); the others wait queued, in order',
    example: { limit: 1, key: 'event.body.customerId' },
  })
  @IsOptional()
  @IsObject()
  concurrency?: { limit: number; key?: string } | null;
}

export class UpdateFlowDto extends CreateFlowDto {}

export class PatchFlowDto extends PartialType(CreateFlowDto) {}
