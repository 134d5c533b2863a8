import {
  Equals,
  IsOptional,
  registerDecorator,
  ValidationArguments,
  ValidationOptions,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { validateCron, validateTimezone } from 'src/flows/definitions/cron-syntax';

/** The object's `timezone` when it is a known zone; an invalid one is reported on `timezone` itself. */
function timezoneOf(object: object): string | undefined {
  const timezone: unknown = (object as { timezone?: unknown }).timezone;
  return typeof timezone === 'string' && validateTimezone(timezone) === null ? timezone : undefined;
}

function cronProblem(args: ValidationArguments): string | null {
  if (typeof args.value !== 'string') return `${args.property} must be a cron string`;
  return validateCron(args.value, timezoneOf(args.object));
}

@ValidatorConstraint({ name: 'isCron', async: false })
export class IsCronConstraint implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    return cronProblem(args) === null;
  }

  defaultMessage(args: ValidationArguments): string {
    return cronProblem(args) ?? `${args.property} is not a valid cron`;
  }
}

/** A cron with 5 fields or 6 (leading seconds), checked in the sibling `timezone` property. */
export function IsCron(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      constraints: [],
      validator: IsCronConstraint,
    });
  };
}

@ValidatorConstraint({ name: 'isIanaTimezone', async: false })
export class IsIanaTimezoneConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && validateTimezone(value) === null;
  }

  defaultMessage(args: ValidationArguments): string {
    return typeof args.value === 'string'
      ? (validateTimezone(args.value) ?? `${args.property} is not a valid timezone`)
      : `${args.property} must be an IANA timezone name`;
  }
}

export function IsIanaTimezone(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      constraints: [],
      validator: IsIanaTimezoneConstraint,
    });
  };
}

export class ScheduleTriggerDto {
  @Equals('schedule')
  type!: 'schedule';

  @IsCron()
  cron!: string;

  @IsOptional()
  @IsIanaTimezone()
  timezone?: string;

  /** Becomes `event.body` of each fire (`{}` when absent). */
  @IsOptional()
  payload?: unknown;
}
