import { firesBetween, nextFireAfter } from 'src/schedules/cron';

export interface DueSchedule {
  cron: string;
  timezone: string;
  /** The planned fire that made the schedule due. */
  nextFireAt: Date;
}

export interface FirePlan {
  /** Planned times to run now, earliest first; each becomes one execution. */
  run: Date[];
  /** Set when planned times older than the missed-fire window were skipped: [from, before). */
  skipped?: { from: Date; before: Date };
  /** The next planned time to store; null when the cron has no further fire. */
  next: Date | null;
}

/** The first planned time strictly after `after`, or null when there is none. */
export function safeNextFire(cron: string, timezone: string, after: Date): Date | null {
  try {
    return nextFireAfter(cron, timezone, after);
  } catch {
    return null;
  }
}

/**
 * What a due schedule does at `now`: every planned time in [now - windowMs, now] runs once (a fire a
 * tick late, or missed while every worker was down, is still run); older ones are skipped. At most
 * `limit` run per call; when that cuts the list, `next` is the first one left, so the caller's next
 * pass carries on from there.
 */
export function planFires(s: DueSchedule, now: Date, windowMs: number, limit: number): FirePlan {
  if (s.nextFireAt.getTime() > now.getTime()) return { run: [], next: s.nextFireAt };
  const cutoff = now.getTime() - windowMs;
  const missedTooLong = s.nextFireAt.getTime() < cutoff;
  const run: Date[] = missedTooLong ? [] : [s.nextFireAt];
  // Exclusive lower bound: a fire exactly at the cutoff is still inside the window.
  const from = missedTooLong ? new Date(cutoff - 1) : s.nextFireAt;
  run.push(...firesBetween(s.cron, s.timezone, from, now, Math.max(0, limit - run.length)));
  const last = run[run.length - 1];
  const next =
    run.length >= limit && last !== undefined
      ? safeNextFire(s.cron, s.timezone, last)
      : safeNextFire(s.cron, s.timezone, now);
  return {
    run,
    next,
    ...(missedTooLong ? { skipped: { from: s.nextFireAt, before: new Date(cutoff) } } : {}),
  };
}
