import { ExecutionStatus } from 'src/executions/execution.entity';

/** What GET /executions and bulk operations (API.md §12) select executions by. */
export interface ExecutionFilter {
  flowId?: string;
  /** Any of these; an empty list matches nothing. */
  status?: readonly ExecutionStatus[];
  /** createdAt >= from (ISO time). */
  from?: string;
  /** createdAt < to (ISO time). */
  to?: string;
  /** The step the execution failed or waits at. */
  stepId?: string;
  /** Text the execution's error contains (case-insensitive). */
  error?: string;
}

/** SQL conditions on `executions` (aliased `alias`) with their parameters, numbered from `firstParam`. */
export interface FilterSql {
  conditions: string[];
  values: unknown[];
}

/**
 * The WHERE conditions for a filter, as bound parameters only. `status` is left out when
 * `withStatus` is false (the list query puts it in per-status index scans of its own).
 */
export function filterSql(
  filter: ExecutionFilter,
  opts: { alias?: string; firstParam?: number; withStatus?: boolean } = {},
): FilterSql {
  const a = opts.alias ?? 'e';
  const conditions: string[] = [];
  const values: unknown[] = [];
  const param = (v: unknown): string => {
    values.push(v);
    return `$${(opts.firstParam ?? 1) + values.length - 1}`;
  };
  if (filter.flowId !== undefined) conditions.push(`${a}.flow_id = ${param(filter.flowId)}::uuid`);
  if (filter.status !== undefined && opts.withStatus !== false)
    conditions.push(`${a}.status = ANY(${param([...filter.status])}::text[])`);
  if (filter.from !== undefined) conditions.push(`${a}.created_at >= ${param(filter.from)}::timestamptz`);
  if (filter.to !== undefined) conditions.push(`${a}.created_at < ${param(filter.to)}::timestamptz`);
  if (filter.stepId !== undefined)
    conditions.push(
      `${a}.steps -> ${param(filter.stepId)}::text ->> 'status' IN ('failed', 'running', 'waiting')`,
    );
  if (filter.error !== undefined)
    conditions.push(`strpos(lower(${a}.error), lower(${param(filter.error)}::text)) > 0`);
  return { conditions, values };
}

/** `from` must come before `to`; null when the range is fine. */
export function rangeProblem(filter: Pick<ExecutionFilter, 'from' | 'to'>): string | null {
  if (filter.from === undefined || filter.to === undefined) return null;
  return Date.parse(filter.from) < Date.parse(filter.to) ? null : 'from must be before to';
}
