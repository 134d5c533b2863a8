import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export class BackoffDto {
  @IsIn(['fixed', 'exponential']) type!: 'fixed' | 'exponential';
  @IsInt() @Min(0) @Max(86_400_000) delayMs!: number;
  @IsOptional() @IsInt() @Min(0) @Max(7 * 86_400_000) maxDelayMs?: number;
}

export class RetryDto {
  /** Tries in all, the first included. */
  @IsOptional() @IsInt() @Min(1) @Max(25) attempts?: number;
  @IsOptional() @ValidateNested() @Type(() => BackoffDto) backoff?: BackoffDto;
}

/** Fields every step has (API.md section 3, "Steps"). */
export class StepBaseDto {
  @IsString()
  @Matches(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'id must match [A-Za-z_][A-Za-z0-9_]*' })
  @MaxLength(64)
  id!: string;
  @IsString() type!: string;
  @IsOptional() @IsString() @MaxLength(200) name?: string;
  @IsOptional() @IsString() @MaxLength(10_000) if?: string;
  @IsOptional() @ValidateNested() @Type(() => RetryDto) retry?: RetryDto;
  @IsOptional() @IsInt() @Min(1) @Max(300_000) timeoutMs?: number;
  @IsOptional() @IsBoolean() continueOnError?: boolean;
}
