import { Injectable, Logger } from '@nestjs/common';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { aggregateStatus, ReportedStatus, TriggerStatus } from 'src/brokers/trigger-status';
import { AppConfig } from 'src/config/app-config';
import { isBrokerTriggerType } from 'src/flows/definitions/broker-trigger.dto';
import type { FlowEntity } from 'src/flows/flow.entity';
import { StepQueue } from 'src/queue/step-queue.service';

/** A report older than this is from a process that is gone (workers refresh theirs every REFRESH_MS). */
export const STATUS_TTL_MS = 30_000;
export const STATUS_REFRESH_MS = 10_000;
/** GET /flows/{id} does not wait longer than this for Redis; the status is left out instead. */
const READ_TIMEOUT_MS = 500;

/**
 * Broker trigger status in Redis: one hash per flow, one field per worker process (and thread), each
 * a JSON report with its time. Redis rather than memory because the consumers run in worker
 * processes (or MODE=all's worker threads) while GET /flows/{id} is answered by any API process;
 * reports expire, so a killed worker's last word does not linger.
 */
@Injectable()
export class TriggerStatusStore {
  private readonly logger = new Logger(TriggerStatusStore.name);
  /** This process (and thread): the field its reports are kept under. */
  readonly reporter = `${hostname()}:${process.pid}:${threadId}:${randomBytes(3).toString('hex')}`;

  constructor(
    private readonly queue: StepQueue,
    private readonly config: AppConfig,
  ) {}

  private key(flowId: string): string {
    return `${this.config.values.QUEUE_PREFIX}:trigger-status:${flowId}`;
  }

  /** Best effort: a status is information, a Redis outage must not stop a consumer. */
  async report(flowId: string, status: TriggerStatus): Promise<void> {
    const report: ReportedStatus = { ...status, at: Date.now() };
    try {
      await this.queue.redis
        .multi()
        .hset(this.key(flowId), this.reporter, JSON.stringify(report))
        .pexpire(this.key(flowId), STATUS_TTL_MS)
        .exec();
    } catch (e) {
      this.logger.debug({ err: (e as Error).message, flowId }, 'could not write a trigger status');
    }
  }

  async clear(flowId: string): Promise<void> {
    await this.queue.redis.hdel(this.key(flowId), this.reporter).catch(() => undefined);
  }

  /**
   * `trigger.status` for a flow's answer: null for flows that have none (not a broker trigger, or
   * disabled). An enabled flow that no worker reported on yet is `connecting` since its last change.
   */
  async forFlow(flow: FlowEntity): Promise<TriggerStatus | null> {
    if (!isBrokerTriggerType(flow.definition.trigger.type) || !flow.enabled) return null;
    const pending: TriggerStatus = { state: 'connecting', since: flow.updatedAt.toISOString() };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), READ_TIMEOUT_MS);
    });
    try {
      const fields = await Promise.race([this.queue.redis.hgetall(this.key(flow.id)), timeout]);
      if (!fields) return null;
      const reports = Object.values(fields).flatMap((text) => {
        try {
          return [JSON.parse(text) as ReportedStatus];
        } catch {
          return [];
        }
      });
      return aggregateStatus(reports, Date.now(), STATUS_TTL_MS) ?? pending;
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}
