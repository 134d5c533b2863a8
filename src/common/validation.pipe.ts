import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { flattenValidationErrors } from 'src/common/validate-shape';

/** Unknown fields are a 400; messages name the field path. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => new BadRequestException(flattenValidationErrors(errors)),
  });
}
