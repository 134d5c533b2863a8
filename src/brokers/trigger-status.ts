export type TriggerState = 'connected' | 'connecting' | 'error';

/** `trigger.status` of a broker flow (API.md §11). */
export interface TriggerStatus {
  state: TriggerState;
  error?: string;
  since: string;
  /** While the consumer waits to try again after a failure: when it will (ISO time). */
  nextAttemptAt?: string;
}

/** What a consumer tells with a state: the last error and, while it waits, its next attempt. */
export type StatusDetail = Pick<TriggerStatus, 'error' | 'nextAttemptAt'>;

/** What one process reports for one flow; `at` is when it last said so (ms). */
export interface ReportedStatus extends TriggerStatus {
  at: number;
}

const SEVERITY: Record<TriggerState, number> = { connected: 0, connecting: 1, error: 2 };

/**
 * One status for a flow from what every worker process reports: the worst state wins (one worker that
 * cannot connect is what an operator must see), `since` the earliest of the reports in that state.
 * Reports older than `maxAgeMs` are from processes that died and are ignored.
 */
export function aggregateStatus(
  reports: ReportedStatus[],
  now: number,
  maxAgeMs: number,
): TriggerStatus | null {
  let worst: ReportedStatus | undefined;
  for (const r of reports) {
    if (now - r.at > maxAgeMs) continue;
    if (
      !worst ||
      SEVERITY[r.state] > SEVERITY[worst.state] ||
      (SEVERITY[r.state] === SEVERITY[worst.state] && r.since < worst.since)
    )
      worst = r;
  }
  if (!worst) return null;
  return withDetail(worst.state, worst.since, worst);
}

/** The status a consumer keeps: a change of state moves `since`, a new error or next attempt alone does not. */
export function nextStatus(
  current: TriggerStatus | undefined,
  state: TriggerState,
  detail: StatusDetail = {},
): TriggerStatus {
  const since = current && current.state === state ? current.since : new Date().toISOString();
  return withDetail(state, since, detail);
}

function withDetail(state: TriggerState, since: string, detail: StatusDetail): TriggerStatus {
  return {
    state,
    ...(detail.error !== undefined ? { error: detail.error } : {}),
    since,
    ...(detail.nextAttemptAt !== undefined ? { nextAttemptAt: detail.nextAttemptAt } : {}),
  };
}
