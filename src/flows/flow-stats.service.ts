import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { HISTOGRAM_BIN_SQL } from 'src/flows/flow-stats-histogram';
import {
  bucketsFromHours,
  emptyHour,
  fillBuckets,
  HOUR_MS,
  hoursFromRows,
  statsWindow,
  type HourRow,
  type HourStats,
  type StatsBucket,
  type StatsQuery,
  type StatsRow,
  type StatsWindow,
} from 'src/flows/flow-stats-window';

/**
 * An hour is rolled up once it ended this long ago. A run's finishedAt is the start of the transaction
 * that finished it, so a commit can land a little after the hour it counts in.
 */
const SETTLE_MS = 5 * 60_000;

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
 * Runs per bucket by final status with p50/p95 durations (API.md §2). 1m and 5m buckets are counted
 * from the executions; 1h and 1d buckets from `flow_stats_hours`, one row per flow and settled hour,
 * written the first time an hour is asked for and read from then on (the hour still going on, and
 * the few minutes before it, are counted from the executions each time). So 30 days in day buckets
 * read 720 small rows, not a million executions; figures in docs/performance.md ("Flow stats").
 */
@Injectable()
export class FlowStatsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async stats(flowId: string, query: StatsQuery, now = Date.now()): Promise<{ buckets: StatsBucket[] }> {
    const window = statsWindow(query, now);
    if ('problem' in window) throw new BadRequestException(window.problem);
    const found = await this.db.query<{ created_at: Date }[]>(
      `SELECT created_at FROM flows WHERE id = $1 AND deleted_at IS NULL`,
      [flowId],
    );
    if (found.length === 0) throw new NotFoundException(`flow ${flowId} not found`);
    if (window.bucketMs % HOUR_MS !== 0) {
      const rows = await this.db.query<(StatsRow & { p: number[] | null })[]>(MINUTES_SQL, [
        flowId,
        new Date(window.start).toISOString(),
        new Date(window.end).toISOString(),
        window.start,
        window.bucketMs,
      ]);
      return {
        buckets: fillBuckets(
          window,
          rows.map((r) => ({ ...r, p50: r.p?.[0] ?? null, p95: r.p?.[1] ?? null })),
        ),
      };
    }
    const hours = await this.hours(flowId, window, found[0].created_at.getTime(), now);
    return { buckets: bucketsFromHours(window, hours) };
  }

  /** The window's hours: settled ones from the rollup (filling it where missing), the rest counted now. */
  private async hours(flowId: string, window: StatsWindow, flowCreated: number, now: number) {
    const settled = Math.floor((now - SETTLE_MS) / HOUR_MS) * HOUR_MS;
    // Hours before the flow existed had no runs: nothing to read or store.
    const rollFrom = Math.max(window.start, Math.floor(flowCreated / HOUR_MS) * HOUR_MS);
    const rollTo = Math.min(window.end, settled);
    const hours = new Map<number, HourStats>();
    if (rollFrom < rollTo) {
      const stored = await this.db.query<(Omit<HourStats, 'hour'> & { hour: string })[]>(
        `SELECT (extract(epoch FROM hour) * 1000)::bigint AS hour, succeeded, failed, filtered, cancelled, durations
           FROM flow_stats_hours WHERE flow_id = $1 AND hour >= $2::timestamptz AND hour < $3::timestamptz`,
        [flowId, new Date(rollFrom).toISOString(), new Date(rollTo).toISOString()],
      );
      for (const row of stored) hours.set(Number(row.hour), { ...row, hour: Number(row.hour) });
      const missing: number[] = [];
      for (let h = rollFrom; h < rollTo; h += HOUR_MS) if (!hours.has(h)) missing.push(h);
      if (missing.length > 0) {
        const counted = await this.countHours(flowId, missing[0], missing[missing.length - 1] + HOUR_MS);
        const rollup = missing.map((h) => counted.get(h) ?? emptyHour(h));
        await this.db.query(
          `INSERT INTO flow_stats_hours (flow_id, hour, succeeded, failed, filtered, cancelled, durations)
           SELECT $1, to_timestamp(h.hour / 1000.0), h.succeeded, h.failed, h.filtered, h.cancelled, h.durations
             FROM jsonb_to_recordset($2::jsonb)
               AS h(hour bigint, succeeded int, failed int, filtered int, cancelled int, durations jsonb)
           ON CONFLICT (flow_id, hour) DO NOTHING`,
          [flowId, JSON.stringify(rollup)],
        );
        for (const hour of rollup) hours.set(hour.hour, hour);
      }
    }
    const tailFrom = Math.max(window.start, rollTo);
    if (tailFrom < window.end) {
      for (const [at, hour] of await this.countHours(flowId, tailFrom, window.end)) hours.set(at, hour);
    }
    return hours;
  }

  private async countHours(flowId: string, from: number, to: number): Promise<Map<number, HourStats>> {
    const rows = await this.db.query<HourRow[]>(HOURS_SQL, [
      flowId,
      new Date(from).toISOString(),
      new Date(to).toISOString(),
    ]);
    return hoursFromRows(rows);
  }
}
