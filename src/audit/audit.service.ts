import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

export type AuditAction =
  | 'flow.created'
  | 'flow.updated'
  | 'flow.deleted'
  | 'flow.enabled'
  | 'flow.disabled'
  | 'flow.token_rotated'
  | 'secret.set'
  | 'secret.deleted'
  | 'apikey.created'
  | 'apikey.revoked'
  | 'execution.retried'
  | 'execution.replayed'
  | 'execution.cancelled'
  | 'execution.bulk'
  | 'destination.set'
  | 'destination.deleted'
  | 'destination.circuit_opened'
  | 'destination.circuit_closed';

export interface AuditEntry {
  actor: string;
  action: AuditAction;
  target: string;
  flowId?: string | null;
  before?: unknown;
  after?: unknown;
}

/** Writes audit records inside the caller's transaction, so a change and its record land together. */
@Injectable()
export class AuditService {
  async record(manager: EntityManager, entry: AuditEntry): Promise<void> {
    await manager.query(
      'INSERT INTO audit_log (actor, action, target, flow_id, before, after) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)',
      [
        entry.actor,
        entry.action,
        entry.target,
        entry.flowId ?? null,
        entry.before === undefined ? null : JSON.stringify(entry.before),
        entry.after === undefined ? null : JSON.stringify(entry.after),
      ],
    );
  }
}
