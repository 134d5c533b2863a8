import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  ValidateBy,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { parseSize } from 'src/common/size';

/** Largest `maxBody` a flow may ask for. */
export const MAX_BODY_CEILING = 64 * 1024 * 1024;

function IsSize(): PropertyDecorator {
  return ValidateBy({
    name: 'isSize',
    validator: {
      validate: (v: unknown) => {
        try {
          const n = typeof v === 'number' ? v : typeof v === 'string' ? parseSize(v) : NaN;
          return Number.isInteger(n) && n > 0 && n <= MAX_BODY_CEILING;
        } catch {
          return false;
        }
      },
      defaultMessage: () => 'maxBody must be a number of bytes or a size like "256kb", at most 64mb',
    },
  });
}

export const HOOK_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export const MAX_SYNC_TIMEOUT_MS = 30_000;

export class WebhookResponseDto {
  @IsIn(['async', 'sync']) mode!: 'async' | 'sync';
  @IsOptional() @IsInt() @Min(1) @Max(MAX_SYNC_TIMEOUT_MS) timeoutMs?: number;
  /** Whose output a sync answer carries; default the last step. */
  @IsOptional() @IsString() step?: string;
}

export class WebhookTriggerDto {
  @IsIn(['webhook']) type!: 'webhook';
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(HOOK_METHODS, { each: true })
  methods?: Array<(typeof HOOK_METHODS)[number]>;
  /** Checked against the verify schemes by the flow validator. */
  @IsOptional() @IsObject() verify?: Record<string, unknown> & { scheme: string };
  @IsOptional() @IsString() @MaxLength(10_000) idempotencyKey?: string;
  @IsOptional() @ValidateNested() @Type(() => WebhookResponseDto) response?: WebhookResponseDto;
  @IsOptional() @IsSize() maxBody?: string | number;
}
