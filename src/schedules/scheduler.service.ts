import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppConfig } from 'src/config/app-config';
import { runsJobs } from 'src/config/env';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { PreparedRun, RunStarter } from 'src/runs/run-starter.service';
import { planFires } from 'src/schedules/schedule-plan';
import { ScheduleStore } from 'src/schedules/schedule-store.service';

/** Longest sleep between passes; a pass also wakes up for the earliest planned fire. */
const MAX_SLEEP_MS = 500;
const MIN_SLEEP_MS = 25;
/** How often the rows are checked against the flows table (covers a sync lost in a crash). */
const SWEEP_EVERY_MS = 5000;
const SCHEDULES_PER_CLAIM = 50;
const FIRES_PER_SCHEDULE = 100;
const CLAIMS_PER_PASS = 20;

/**
 * Fires schedules (MODE=worker and all). Each pass claims due rows with FOR UPDATE SKIP LOCKED and,
 * in one transaction, writes one execution per planned time and moves `next_fire_at` past them: with
 * any number of workers, a planned time runs exactly once, and a crash mid-pass undoes the whole pass.
 */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SchedulerService.name);
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private current?: Promise<void>;
  private lastSweep = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly store: ScheduleStore,
    private readonly flows: FlowCacheService,
    private readonly starter: RunStarter,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!runsJobs(this.config.values)) return;
    this.sleep(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private sleep(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.pass().then((next) => this.sleep(next));
    }, ms);
    this.timer.unref();
  }

  /** One pass: sweep when due, fire what is due; returns how long to sleep. */
  private async pass(): Promise<number> {
    try {
      if (Date.now() - this.lastSweep >= SWEEP_EVERY_MS) {
        await this.store.sweep();
        this.lastSweep = Date.now();
      }
      let ms = await this.store.msUntilNextFire();
      if (ms !== null && ms <= 0) {
        for (let i = 0; i < CLAIMS_PER_PASS && !this.stopped; i++) {
          if ((await this.fireDue()) < SCHEDULES_PER_CLAIM) break;
        }
        ms = await this.store.msUntilNextFire();
      }
      return ms === null ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(MIN_SLEEP_MS, ms));
    } catch (e) {
      this.logger.warn({ err: e }, 'scheduler pass failed; the next pass will try again');
      return MAX_SLEEP_MS;
    }
  }

  /** Claims due schedules and starts their runs; returns how many schedules it claimed. */
  async fireDue(): Promise<number> {
    const windowMs = this.config.values.SCHEDULE_MISSED_WINDOW_MS;
    const { claimed, runs } = await this.db.transaction(async (m) => {
      const due = await this.store.claimDue(m, SCHEDULES_PER_CLAIM);
      const prepared: PreparedRun[] = [];
      for (const s of due) {
        const plan = planFires(s, s.now, windowMs, FIRES_PER_SCHEDULE);
        if (plan.skipped) {
          this.logger.warn(
            {
              flowId: s.flowId,
              from: plan.skipped.from.toISOString(),
              before: plan.skipped.before.toISOString(),
              windowMs,
            },
            'skipped schedule fires missed for longer than SCHEDULE_MISSED_WINDOW_MS',
          );
        }
        if (plan.run.length > 0) {
          const flow = await this.flows.get(s.flowId, s.version);
          const trigger = flow.definition.trigger;
          const body = trigger.type === 'schedule' && trigger.payload !== undefined ? trigger.payload : {};
          for (const at of plan.run) {
            const event: FlowEvent = {
              id: randomUUID(),
              type: 'schedule',
              receivedAt: s.now.toISOString(),
              body,
              scheduledAt: at.toISOString(),
            };
            prepared.push(await this.starter.prepare(flow, event, 0));
          }
        }
        await this.store.advance(m, s.flowId, plan.next);
      }
      await this.starter.insert(m, prepared);
      return { claimed: due.length, runs: prepared };
    });
    this.starter.dispatch(runs);
    return claimed;
  }
}
