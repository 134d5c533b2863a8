import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { ScheduleTriggerDto } from 'src/flows/definitions/schedule-trigger.dto';

function errors(plain: Record<string, unknown>): Record<string, string[]> {
  const found: ValidationError[] = validateSync(plainToInstance(ScheduleTriggerDto, plain), {
    whitelist: true,
    forbidNonWhitelisted: true,
  });
  return Object.fromEntries(found.map((error) => [error.property, Object.values(error.constraints ?? {})]));
}

describe('ScheduleTriggerDto', () => {
  it('accepts a schedule with a seconds field, a timezone and any payload', () => {
    expect(
      errors({ type: 'schedule', cron: '*/2 * * * * *', timezone: 'Europe/Berlin', payload: { a: [1] } }),
    ).toEqual({});
    expect(errors({ type: 'schedule', cron: '*/5 * * * *' })).toEqual({});
  });

  it('names the problem in the cron', () => {
    expect(errors({ type: 'schedule', cron: '61 * * * *' })).toEqual({
      cron: ['cron minute field "61": Constraint error, got value 61 expected range 0-59'],
    });
    expect(errors({ type: 'schedule', cron: 5 })).toEqual({ cron: ['cron must be a cron string'] });
    expect(errors({ type: 'schedule' })).toEqual({ cron: ['cron must be a cron string'] });
  });

  it('reports an unknown timezone on the timezone', () => {
    expect(errors({ type: 'schedule', cron: '0 9 * * *', timezone: 'Mars/Base' })).toEqual({
      timezone: ['unknown timezone "Mars/Base": use an IANA name such as "Europe/Berlin" or "UTC"'],
    });
  });

  it('rejects another trigger type', () => {
    expect(Object.keys(errors({ type: 'webhook', cron: '0 9 * * *' }))).toEqual(['type']);
  });
});
