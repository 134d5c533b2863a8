import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ScheduleTriggerDefinition } from 'src/flows/flow-definition';
import { safeNextFire } from 'src/schedules/schedule-plan';

const DEFAULT_TIMEZONE = 'UTC';
/** A flow whose schedule may fire: the claim and the sync agree on this. */
const SCHEDULABLE = `f.enabled AND f.deleted_at IS NULL AND f.trigger_type = 'schedule'`;

export interface ClaimedSchedule {
  flowId: string;
  version: number;
  cron: string;
  timezone: string;
  nextFireAt: Date;
  /** The database clock, so that every instance judges "due" and "missed" by one clock. */
  now: Date;
}

/**
 * The `schedules` table: one row per enabled schedule flow with its next planned fire. Rows follow
 * the flows table (sync on each change, sweep for changes whose process died before syncing); a row
 * fires only while its flow is enabled at that very version, so a stale row never fires.
 */
@Injectable()
export class ScheduleStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Brings one flow's row in line with the flow: created, re-planned, kept, or removed. */
  async sync(flowId: string): Promise<void> {
    const rows: Array<{ version: number; trigger: ScheduleTriggerDefinition; now: Date }> =
      await this.db.query(
        `SELECT f.version, f.definition->'trigger' AS trigger, clock_timestamp() AS now
           FROM flows f WHERE f.id = $1 AND ${SCHEDULABLE}`,
        [flowId],
      );
    const flow = rows[0];
    if (!flow) {
      await this.db.query(`DELETE FROM schedules WHERE flow_id = $1`, [flowId]);
      return;
    }
    const timezone = flow.trigger.timezone ?? DEFAULT_TIMEZONE;
    const next = safeNextFire(flow.trigger.cron, timezone, new Date(flow.now));
    // Same cron and zone (a rename, a new step): keep the planned fire. Never go back a version.
    await this.db.query(
      `INSERT INTO schedules (flow_id, version, cron, timezone, next_fire_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (flow_id) DO UPDATE SET
         version = EXCLUDED.version, cron = EXCLUDED.cron, timezone = EXCLUDED.timezone,
         next_fire_at = CASE WHEN schedules.cron = EXCLUDED.cron AND schedules.timezone = EXCLUDED.timezone
                             THEN schedules.next_fire_at ELSE EXCLUDED.next_fire_at END,
         updated_at = now()
       WHERE schedules.version < EXCLUDED.version`,
      [flowId, flow.version, flow.trigger.cron, timezone, next],
    );
  }

  /** Removes rows of flows that no longer fire and syncs flows whose row is missing or old. */
  async sweep(limit = 500): Promise<number> {
    await this.db.query(
      `DELETE FROM schedules s WHERE NOT EXISTS (SELECT 1 FROM flows f WHERE f.id = s.flow_id AND ${SCHEDULABLE})`,
    );
    const stale: Array<{ id: string }> = await this.db.query(
      `SELECT f.id FROM flows f LEFT JOIN schedules s ON s.flow_id = f.id
        WHERE ${SCHEDULABLE} AND (s.flow_id IS NULL OR s.version < f.version) LIMIT $1`,
      [limit],
    );
    for (const { id } of stale) await this.sync(id);
    return stale.length;
  }

  /**
   * Locks due schedules of enabled flows in the caller's transaction. Rows another worker holds are
   * skipped; the flow row is share-locked, so a disable or edit waits for fires in flight and none
   * starts after it commits.
   */
  async claimDue(m: EntityManager, limit: number): Promise<ClaimedSchedule[]> {
    const rows: Array<{
      flow_id: string;
      version: number;
      cron: string;
      timezone: string;
      next_fire_at: Date;
      now: Date;
    }> = await m.query(
      `SELECT s.flow_id, s.version, s.cron, s.timezone, s.next_fire_at, clock_timestamp() AS now
         FROM schedules s JOIN flows f ON f.id = s.flow_id
        WHERE s.next_fire_at <= clock_timestamp() AND f.version = s.version AND ${SCHEDULABLE}
        ORDER BY s.next_fire_at
        LIMIT $1
        FOR UPDATE OF s SKIP LOCKED
        FOR SHARE OF f SKIP LOCKED`,
      [limit],
    );
    return rows.map((r) => ({
      flowId: r.flow_id,
      version: r.version,
      cron: r.cron,
      timezone: r.timezone,
      nextFireAt: new Date(r.next_fire_at),
      now: new Date(r.now),
    }));
  }

  async advance(m: EntityManager, flowId: string, next: Date | null): Promise<void> {
    await m.query(`UPDATE schedules SET next_fire_at = $2, updated_at = now() WHERE flow_id = $1`, [
      flowId,
      next,
    ]);
  }

  /** Milliseconds until the earliest planned fire of an enabled flow (negative when due), or null. */
  async msUntilNextFire(): Promise<number | null> {
    const rows: Array<{ ms: string | null }> = await this.db.query(
      `SELECT (EXTRACT(EPOCH FROM (min(s.next_fire_at) - clock_timestamp())) * 1000)::text AS ms
         FROM schedules s JOIN flows f ON f.id = s.flow_id
        WHERE s.next_fire_at IS NOT NULL AND f.version = s.version AND ${SCHEDULABLE}`,
    );
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? null : Number(ms);
  }
}
