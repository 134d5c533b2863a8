import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  fillBuckets,
  statsWindow,
  type StatsBucket,
  type StatsQuery,
  type StatsRow,
} from 'src/flows/flow-stats-window';

/**
 * One aggregate over the flow's finished executions in the window, read from
 * `executions_flow_finished_idx` (flow_id, finished_at) INCLUDE (status, created_at): an index-only
 * range scan, no heap visit for a vacuumed table (figures in docs/performance.md).
 */
const STATS_SQL = `
  SELECT floor((extract(epoch FROM finished_at) * 1000 - $4) / $5)::int AS slot,
         count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
         count(*) FILTER (WHERE status = 'failed')::int AS failed,
         count(*) FILTER (WHERE status = 'filtered')::int AS filtered,
         count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at) * 1000)
           FILTER (WHERE status IN ('succeeded', 'failed')) AS p50,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at) * 1000)
           FILTER (WHERE status IN ('succeeded', 'failed')) AS p95
    FROM executions
   WHERE flow_id = $1
     AND finished_at >= $2::timestamptz
     AND finished_at < $3::timestamptz
   GROUP BY 1`;

@Injectable()
export class FlowStatsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async stats(flowId: string, query: StatsQuery, now = Date.now()): Promise<{ buckets: StatsBucket[] }> {
    const window = statsWindow(query, now);
    if ('problem' in window) throw new BadRequestException(window.problem);
    const found = await this.db.query<unknown[]>(`SELECT 1 FROM flows WHERE id = $1 AND deleted_at IS NULL`, [
      flowId,
    ]);
    if (found.length === 0) throw new NotFoundException(`flow ${flowId} not found`);
    const rows = await this.db.query<StatsRow[]>(STATS_SQL, [
      flowId,
      new Date(window.start).toISOString(),
      new Date(window.end).toISOString(),
      window.start,
      window.bucketMs,
    ]);
    return { buckets: fillBuckets(window, rows) };
  }
}
