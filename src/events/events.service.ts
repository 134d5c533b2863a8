import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { PreparedRun, RunStarter } from 'src/runs/run-starter.service';
import { EventPublisher } from 'src/steps/event-publisher';

export interface PublishedEvent {
  eventId: string;
  executionIds: string[];
  duplicate: boolean;
}

interface EventRow {
  id: string;
  execution_ids: string[];
}

/** PostgreSQL text cannot hold NUL; a key that has one is stored with U+FFFD instead. */
function storableKey(key: string | undefined): string | null {
  return key === undefined ? null : key.split('\u0000').join('\ufffd');
}

/**
 * The event bus: `POST /events` and `emit` steps. One execution per enabled flow listening to the
 * type. The event row (with its idempotency key) and its executions commit in one transaction, so a
 * repeated key can never start anything twice, and a crash leaves either everything or nothing.
 */
@Injectable()
export class EventsService implements EventPublisher {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly flows: FlowCacheService,
    private readonly starter: RunStarter,
  ) {}

  async publish(input: {
    type: string;
    data: unknown;
    idempotencyKey?: string;
    depth: number;
  }): Promise<PublishedEvent> {
    const key = storableKey(input.idempotencyKey);
    if (key !== null) {
      const seen = await this.findByKey(this.db.manager, key);
      if (seen) return seen;
    }
    const eventId = randomUUID();
    const event: FlowEvent = {
      id: eventId,
      type: 'event',
      receivedAt: new Date().toISOString(),
      body: input.data === undefined ? {} : input.data,
      name: input.type,
    };
    const listeners: Array<{ id: string; version: number }> = await this.db.query(
      `SELECT id, version FROM flows
        WHERE event_type = $1 AND trigger_type = 'event' AND enabled AND deleted_at IS NULL
        ORDER BY created_at, id`,
      [input.type],
    );
    const runs: PreparedRun[] = [];
    for (const l of listeners) {
      const flow = await this.flows.get(l.id, l.version);
      runs.push(await this.starter.prepare(flow, event, input.depth));
    }
    const executionIds = runs.map((r) => r.row.id);
    const first = await this.db.transaction(async (m) => {
      // A concurrent insert of the same key makes this wait for it, then do nothing.
      const inserted: unknown[] = await m.query(
        `INSERT INTO events (id, type, idempotency_key, execution_ids) VALUES ($1, $2, $3, $4::uuid[])
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
        [eventId, input.type, key, executionIds],
      );
      if (inserted.length === 0) {
        const seen = await this.findByKey(m, key as string);
        if (!seen) throw new Error('event idempotency key vanished between insert and read');
        return seen;
      }
      await this.starter.insert(m, runs);
      // A listener with a trigger `batch` joined a group: the event names the group's execution.
      if (runs.some((r) => r.batch)) {
        await m.query(`UPDATE events SET execution_ids = $2::uuid[] WHERE id = $1`, [
          eventId,
          runs.map((r) => r.row.id),
        ]);
      }
      return null;
    });
    if (first) return first;
    this.starter.dispatch(runs);
    return { eventId, executionIds: runs.map((r) => r.row.id), duplicate: false };
  }

  private async findByKey(m: EntityManager, key: string): Promise<PublishedEvent | null> {
    const rows: EventRow[] = await m.query(
      `SELECT id, execution_ids FROM events WHERE idempotency_key = $1`,
      [key],
    );
    return rows[0] ? { eventId: rows[0].id, executionIds: rows[0].execution_ids, duplicate: true } : null;
  }
}
