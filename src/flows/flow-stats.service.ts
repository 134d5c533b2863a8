import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { FlowStatsRepository } from 'src/flows/flow-stats.repository';
import {
  bucketsFromHours,
  emptyHour,
  fillBuckets,
  HOUR_MS,
  hoursFromRows,
  statsWindow,
  type HourStats,
  type StatsBucket,
  type StatsQuery,
  type StatsWindow,
} from 'src/flows/flow-stats-window';

/**
 * An hour is rolled up once it ended this long ago. A run's finishedAt is the start of the transaction
 * that finished it, so a commit can land a little after the hour it counts in.
 */
const SETTLE_MS = 5 * 60_000;

/**
 * Runs per bucket by final status with p50/p95 durations (API.md §2). 1m and 5m buckets are counted
 * from the executions; 1h and 1d buckets from `flow_stats_hours`, one row per flow and settled hour,
 * written the first time an hour is asked for and read from then on (the hour still going on, and
 * the few minutes before it, are counted from the executions each time). So 30 days in day buckets
 * read 720 small rows, not a million executions; figures in docs/performance.md ("Flow stats").
 */
@Injectable()
export class FlowStatsService {
  constructor(private readonly repository: FlowStatsRepository) {}

  async stats(flowId: string, query: StatsQuery, now = Date.now()): Promise<{ buckets: StatsBucket[] }> {
    const window = statsWindow(query, now);
    if ('problem' in window) throw new BadRequestException(window.problem);
    const created = await this.repository.flowCreatedAt(flowId);
    if (!created) throw new NotFoundException(`flow ${flowId} not found`);
    if (window.bucketMs % HOUR_MS !== 0) {
      const rows = await this.repository.countBuckets(flowId, window.start, window.end, window.bucketMs);
      return { buckets: fillBuckets(window, rows) };
    }
    const hours = await this.hours(flowId, window, created.getTime(), now);
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
      for (const row of await this.repository.storedHours(flowId, rollFrom, rollTo)) hours.set(row.hour, row);
      const missing: number[] = [];
      for (let h = rollFrom; h < rollTo; h += HOUR_MS) if (!hours.has(h)) missing.push(h);
      if (missing.length > 0) {
        const counted = await this.countHours(flowId, missing[0], missing[missing.length - 1] + HOUR_MS);
        const rollup = missing.map((h) => counted.get(h) ?? emptyHour(h));
        await this.repository.storeHours(flowId, rollup);
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
    return hoursFromRows(await this.repository.countHours(flowId, from, to));
  }
}
