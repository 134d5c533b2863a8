import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { flattenValidationErrors } from 'src/common/validate-shape';

/** Unknown fields are a 400; messages name the field path. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    // Kept for the "did you mean" hint (the known fields of the object); never sent.
    validationError: { target: true, value: false },
    exceptionFactory: (errors) => new BadRequestException(flattenValidationErrors(errors)),
  });
}
