import { plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';

/** class-validator errors → messages that name the full field path (`steps[1].retry.attempts ...`). */
export function flattenValidationErrors(errors: ValidationError[], prefix = ''): string[] {
  const out: string[] = [];
  for (const error of errors) {
    const path = joinPath(prefix, error.property);
    for (const message of Object.values(error.constraints ?? {})) {
      out.push(
        message.includes(error.property) ? message.replace(error.property, path) : `${path}: ${message}`,
      );
    }
    if (error.children?.length) out.push(...flattenValidationErrors(error.children, path));
  }
  return out;
}

function joinPath(prefix: string, property: string): string {
  if (/^\d+$/.test(property)) return `${prefix}[${property}]`;
  return prefix ? `${prefix}.${property}` : property;
}

/**
 * Validates a plain object against a DTO class, forbidding unknown fields; returns the instance and
 * the messages (empty when valid).
 */
export function validateShape<T extends object>(
  cls: new () => T,
  raw: unknown,
  path: string,
): { value: T; errors: string[] } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { value: raw as T, errors: [`${path} must be an object`] };
  }
  const value = plainToInstance(cls, raw);
  const errors = validateSync(value, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: false,
  });
  return { value, errors: flattenValidationErrors(errors, path) };
}
