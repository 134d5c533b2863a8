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
    description:
      'webhook, schedule, event, amqp, mqtt or nats trigger (API.md section 3). Webhook, event and broker triggers take ' +
      '`batch: {maxItems: 2–1000, windowMs: 100–3600000, key?: JSONata}`: events are gathered per value of `key` into one ' +
      'execution (status `batching`, every event answered 202 with its id) that starts when the group holds `maxItems` ' +
      "events or `windowMs` after its first one; its `event.body` is the array of the events' bodies in arrival order",
    example: {
      type: 'webhook',
      methods: ['POST'],
      batch: { maxItems: 100, windowMs: 5000, key: 'event.body.repo' },
    },
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
