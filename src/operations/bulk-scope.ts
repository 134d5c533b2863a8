import { ACTIVE_STATUSES, ExecutionStatus } from 'src/executions/execution.entity';
import { ExecutionFilter } from 'src/executions/execution-filter';

export const BULK_ACTIONS = ['retry', 'replay', 'cancel'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/**
 * What an action can act on (API.md §12): a retry only failed executions, a cancel only active ones
 * and trigger `batch` groups still gathering events.
 */
const ACTS_ON: Record<BulkAction, readonly ExecutionStatus[] | undefined> = {
  retry: ['failed'],
  cancel: ['batching', ...ACTIVE_STATUSES],
  replay: undefined,
};

/**
 * The filter an action really selects by: the user's statuses cut down to those the action can act
 * on (none left: nothing matches), or those statuses alone when the user named none.
 */
export function actionScope(action: BulkAction, filter: ExecutionFilter): ExecutionFilter {
  const allowed = ACTS_ON[action];
  if (!allowed) return filter;
  const status = filter.status ? filter.status.filter((s) => allowed.includes(s)) : [...allowed];
  return { ...filter, status: [...new Set(status)] };
}

/** The filter as stored and answered: only the fields that were given. */
export function storedFilter(filter: ExecutionFilter): ExecutionFilter {
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined));
}
