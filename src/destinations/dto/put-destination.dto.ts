import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
} from 'class-validator';
import { parseHostPattern } from 'src/destinations/destination-match';

function IsHostPattern(): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isHostPattern',
      validator: {
        validate: (v: unknown) =>
          typeof v === 'string' && v.length <= 300 && parseHostPattern(v) !== undefined,
        defaultMessage: () => 'each match entry must be a host, host:port or *.domain',
      },
    },
    { each: true },
  );
}

export class RateLimitDto {
  @ApiProperty({ example: 10 }) @IsInt() @Min(1) @Max(100_000) max!: number;
  @ApiProperty({ example: 1000 }) @IsInt() @Min(1) @Max(86_400_000) perMs!: number;
}

export class CircuitBreakerDto {
  @ApiProperty({ example: 10, description: 'retryable failures in a row that open the circuit' })
  @IsInt()
  @Min(1)
  @Max(10_000)
  failures!: number;
  @ApiProperty({ example: 60000, description: 'how long it stays open before one probe' })
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  cooldownMs!: number;
}

/** `PUT /api/v1/destinations/{name}` (API.md §10); at least one of the limits is given. */
export class PutDestinationDto {
  @ApiProperty({ example: ['hooks.slack.com', 'api.example.com:8443', '*.example.org'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @IsHostPattern()
  match!: string[];

  @ApiPropertyOptional({ type: RateLimitDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitDto)
  rateLimit?: RateLimitDto;

  @ApiPropertyOptional({ example: 4, description: 'attempts in flight at once' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  concurrency?: number;

  @ApiPropertyOptional({ type: CircuitBreakerDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => CircuitBreakerDto)
  circuitBreaker?: CircuitBreakerDto;
}
