import { CronDate, CronExpression, CronExpressionParser } from 'cron-parser';
import { DEFAULT_TIMEZONE, validateCron } from 'src/flows/definitions/cron-syntax';

/*
 * Cron planning for schedule triggers: pure functions over cron-parser v5. What a cron may be
 * (5 or 6 fields, no macros, no `H`) is checked in src/flows/definitions/cron-syntax.ts.
 * Times are computed in the trigger's IANA timezone (default UTC) and returned as UTC instants.
 *
 * Daylight saving time (measured against cron-parser 5.x, pinned by cron.spec.ts):
 * - Spring forward (Europe/Berlin 2026-03-29, 02:00 -> 03:00): a fire planned inside the gap is moved
 *   forward by the gap's length, so `30 2 * * *` fires once, at 03:30 CEST (01:30Z). It is not skipped.
 *   Fires that land on the same instant (`30 2,3 * * *` gives 02:30 -> 03:30 and 03:30) fire once.
 * - Fall back (Europe/Berlin 2026-10-25, 03:00 -> 02:00): the wall-clock hour 02:00-02:59 happens twice.
 *   When cron-parser iterates through the change it fires a fixed-hour schedule only in the first pass
 *   (`30 2 * * *` fires at 02:30 CEST, 00:30Z), but when it starts inside the second pass it does yield
 *   02:30 CET (01:30Z) again. We drop those second-pass fires whenever the hour field is not a wildcard,
 *   so a daily schedule fires exactly once per calendar day whatever instant the search starts from
 *   (like cronie/Vixie cron, which do not re-run fixed-time jobs when the clock goes back). Schedules
 *   with a wildcard hour (`*` or `?`, e.g. every 15 minutes) keep firing through the repeated hour,
 *   since they are about elapsed time.
 */

/** Largest time by which a DST change moves clocks back (real zones: 30 min to 1 h; 2 h historically). */
const MAX_DST_SHIFT_MS = 3 * 60 * 60 * 1000;
/** Bound on consecutive dropped candidates, so a pathological schedule cannot spin forever. */
const MAX_SKIPPED = 10_000;

/** The first planned time strictly after `after`. Throws when the cron or timezone is invalid. */
export function nextFireAfter(cron: string, timezone: string | undefined, after: Date): Date {
  const next = plannedFires(cron, timezone, after).next();
  if (next.done === true) throw new Error(`cron "${cron}" has no fire after ${after.toISOString()}`);
  return next.value;
}

/**
 * Planned times in (`fromExclusive`, `toInclusive`], earliest first, at most `limit` of them
 * (for missed-fire recovery: to page, call again from the last time returned).
 */
export function firesBetween(
  cron: string,
  timezone: string | undefined,
  fromExclusive: Date,
  toInclusive: Date,
  limit: number,
): Date[] {
  const fires: Date[] = [];
  if (limit <= 0 || toInclusive.getTime() <= fromExclusive.getTime()) return fires;
  for (const fire of plannedFires(cron, timezone, fromExclusive)) {
    if (fire.getTime() > toInclusive.getTime()) break;
    fires.push(fire);
    if (fires.length >= limit) break;
  }
  return fires;
}

/** The next `count` planned times strictly after `from`, as ISO strings (for previews). */
export function describeNextFires(
  cron: string,
  timezone: string | undefined,
  from: Date,
  count: number,
): string[] {
  const fires: string[] = [];
  if (count <= 0) return fires;
  for (const fire of plannedFires(cron, timezone, from)) {
    fires.push(fire.toISOString());
    if (fires.length >= count) break;
  }
  return fires;
}

/** Strictly increasing planned times after `after`, without second-pass fall-back repeats (see top). */
function* plannedFires(cron: string, timezone: string | undefined, after: Date): Generator<Date> {
  const tz = timezone ?? DEFAULT_TIMEZONE;
  const expression = parse(cron, tz, after);
  const keepRepeatedHour = expression.fields.hour.isWildcard;
  let last = after.getTime();
  let skipped = 0;
  for (;;) {
    let candidate: number;
    try {
      candidate = expression.next().getTime();
    } catch {
      return; // cron-parser found no further date within its search bounds
    }
    const drop = candidate <= last || (!keepRepeatedHour && isRepeatedWallClock(candidate, tz));
    if (drop) {
      skipped += 1;
      if (skipped > MAX_SKIPPED) return;
      continue;
    }
    skipped = 0;
    last = candidate;
    yield new Date(candidate);
  }
}

function parse(cron: string, timezone: string, currentDate: Date): CronExpression {
  const problem = validateCron(cron, timezone);
  if (problem !== null) throw new Error(problem);
  return CronExpressionParser.parse(cron.trim(), { currentDate, tz: timezone });
}

/** True when the local wall-clock time of `instant` already happened earlier (second pass of a fall-back). */
function isRepeatedWallClock(instant: number, timezone: string): boolean {
  const offset = offsetMs(instant, timezone);
  const earlierOffset = offsetMs(instant - MAX_DST_SHIFT_MS, timezone);
  if (earlierOffset <= offset) return false;
  const twin = instant - (earlierOffset - offset);
  return offsetMs(twin, timezone) === earlierOffset;
}

function offsetMs(instant: number, timezone: string): number {
  return new CronDate(instant, timezone).getUTCOffset() * 60_000;
}
