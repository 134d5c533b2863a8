import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { HISTOGRAM_BIN_SQL } from 'src/flows/flow-stats-histogram';
import type { HourRow, HourStats, StatsRow } from 'src/flows/flow-stats-window';

/**
 * 1m and 5m buckets, exactly: one index-only range scan of `executions_flow_finished_idx` (flow_id,
 * finished_at) INCLUDE (status, created_at), grouped by bucket. At most 1,000 buckets of at most
 * 5 minutes: a few days of runs. (One scan per bucket instead costs more than the sort it saves once
 * there are hundreds of buckets.)
 */
const MINUTES_SQL = `
  SELECT floor((date_part('epoch', finished_at) * 1000 - $4::float8) / $5::float8)::int AS slot,
         count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
         count(*) FILTER (WHERE status = 'failed')::int AS failed,
         count(*) FILTER (WHERE status = 'filtered')::int AS filtered,
         count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
         (percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY date_part('epoch', finished_at - created_at) * 1000)
           FILTER (WHERE status IN ('succeeded', 'failed'))) AS p
    FROM executions
   WHERE flow_id = $1 AND finished_at >= $2::timestamptz AND finished_at < $3::timestamptz
   GROUP BY 1`;

/** Hours, from the same index: runs per (hour, status, duration bin). */
const HOURS_SQL = `
  SELECT (floor(date_part('epoch', finished_at) / 3600) * 3600000)::bigint AS hour, status,
         CASE WHEN status IN ('succeeded', 'failed') THEN ${HISTOGRAM_BIN_SQL} END AS bin,
         count(*)::int AS n
    FROM executions
   WHERE flow_id = $1 AND finished_at >= $2::timestamptz AND finished_at < $3::timestamptz
   GROUP BY 1, 2, 3`;

/**
 * The SQL of GET /flows/{id}/stats (FlowStatsService has the windows and the rollup's rules): counts
 * of finished executions, and `flow_stats_hours`, the settled hours rolled up. Times in and out are ms
 * since the epoch.
 */
@Injectable()
export class FlowStatsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** When a flow that is not deleted was created; undefined when there is no such flow. */
  async flowCreatedAt(flowId: string): Promise<Date | undefined> {
    const found = await this.db.query<{ created_at: Date }[]>(
      `SELECT created_at FROM flows WHERE id = $1 AND deleted_at IS NULL`,
      [flowId],
    );
    return found[0]?.created_at;
  }

  /** Runs finished in [from, to) by status, per bucket of `bucketMs` from `from` (slot 0), with p50/p95. */
  async countBuckets(flowId: string, from: number, to: number, bucketMs: number): Promise<StatsRow[]> {
    const rows = await this.db.query<(StatsRow & { p: number[] | null })[]>(MINUTES_SQL, [
      flowId,
      new Date(from).toISOString(),
      new Date(to).toISOString(),
      from,
      bucketMs,
    ]);
    return rows.map((r) => ({ ...r, p50: r.p?.[0] ?? null, p95: r.p?.[1] ?? null }));
  }

  /** Runs finished in [from, to) per (hour, status, duration bin). */
  countHours(flowId: string, from: number, to: number): Promise<HourRow[]> {
    return this.db.query<HourRow[]>(HOURS_SQL, [
      flowId,
      new Date(from).toISOString(),
      new Date(to).toISOString(),
    ]);
  }

  /** The rolled-up hours stored for [from, to). */
  async storedHours(flowId: string, from: number, to: number): Promise<HourStats[]> {
    const stored = await this.db.query<(Omit<HourStats, 'hour'> & { hour: string })[]>(
      `SELECT (extract(epoch FROM hour) * 1000)::bigint AS hour, succeeded, failed, filtered, cancelled, durations
           FROM flow_stats_hours WHERE flow_id = $1 AND hour >= $2::timestamptz AND hour < $3::timestamptz`,
      [flowId, new Date(from).toISOString(), new Date(to).toISOString()],
    );
    return stored.map((row) => ({ ...row, hour: Number(row.hour) }));
  }

  /** Stores settled hours; an hour stored already (a concurrent request) is kept as it is. */
  async storeHours(flowId: string, rollup: HourStats[]): Promise<void> {
    await this.db.query(
      `INSERT INTO flow_stats_hours (flow_id, hour, succeeded, failed, filtered, cancelled, durations)
           SELECT $1, to_timestamp(h.hour / 1000.0), h.succeeded, h.failed, h.filtered, h.cancelled, h.durations
             FROM jsonb_to_recordset($2::jsonb)
               AS h(hour bigint, succeeded int, failed int, filtered int, cancelled int, durations jsonb)
           ON CONFLICT (flow_id, hour) DO NOTHING`,
      [flowId, JSON.stringify(rollup)],
    );
  }
}
