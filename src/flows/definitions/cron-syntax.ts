import { CronDate, CronExpressionParser } from 'cron-parser';

/*
 * What a schedule trigger's `cron` and `timezone` may be (API.md §3), checked when a flow is saved.
 * Syntax: 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field.
 * Macros (`@daily`) and the `H` jitter are refused: every instance must compute the same plan.
 * When it fires is planned in src/schedules/cron.ts.
 */

/** The timezone of a schedule that names none. */
export const DEFAULT_TIMEZONE = 'UTC';
const FIELD_NAMES_5 = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
const FIELD_NAMES_6 = ['second', ...FIELD_NAMES_5] as const;

/** `null` when the IANA timezone is known, else a message naming it. */
export function validateTimezone(timezone: string): string | null {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: timezone });
  } catch {
    return `unknown timezone "${timezone}": use an IANA name such as "Europe/Berlin" or "UTC"`;
  }
  try {
    new CronDate(0, timezone);
  } catch {
    return `unsupported timezone "${timezone}": use an IANA name such as "Europe/Berlin" or "UTC"`;
  }
  return null;
}

/** `null` when the cron (and the timezone, when given) is valid, else a message naming the problem. */
export function validateCron(cron: string, timezone?: string): string | null {
  if (timezone !== undefined) {
    const timezoneError = validateTimezone(timezone);
    if (timezoneError !== null) return timezoneError;
  }
  const fields = cron
    .trim()
    .split(/\s+/)
    .filter((field) => field !== '');
  if (fields.length === 0) return 'cron is empty';
  if (fields.length !== 5 && fields.length !== 6) {
    return (
      `cron "${cron}" has ${fields.length} field(s): expected 5 (minute hour day-of-month month day-of-week) ` +
      'or 6 with a leading seconds field'
    );
  }
  const names = fields.length === 6 ? FIELD_NAMES_6 : FIELD_NAMES_5;
  for (const [index, field] of fields.entries()) {
    const name = names[index];
    if (field.split(',').some((part) => /^h/i.test(part))) {
      return `cron ${name} field "${field}": the H (random) syntax is not supported`;
    }
    const probe = fields.map((_, i) => (i === index ? field : '*')).join(' ');
    try {
      CronExpressionParser.parse(probe);
    } catch (error) {
      return `cron ${name} field "${field}": ${messageOf(error)}`;
    }
  }
  try {
    CronExpressionParser.parse(fields.join(' '), { tz: timezone ?? DEFAULT_TIMEZONE }).next();
  } catch (error) {
    return `cron "${cron}": ${messageOf(error)}`;
  }
  return null;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
