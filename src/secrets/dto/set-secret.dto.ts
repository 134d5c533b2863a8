import { ApiProperty } from '@nestjs/swagger';
import { IsByteLength, IsString } from 'class-validator';

/** Largest secret value, in UTF-8 bytes. */
export const MAX_SECRET_BYTES = 64 * 1024;
/** What `$secrets.NAME` can address: a JSONata-friendly identifier. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;

export class SetSecretDto {
  @ApiProperty({
    description: 'the plaintext; stored encrypted, never returned',
    maxLength: MAX_SECRET_BYTES,
  })
  @IsString()
  @IsByteLength(1, MAX_SECRET_BYTES, {
    message: `value must be a non-empty string of at most ${MAX_SECRET_BYTES} bytes`,
  })
  value!: string;
}
