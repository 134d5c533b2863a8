import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { DestinationKeys, DestinationRegistry } from 'src/destinations/destination-registry.service';
import { ACQUIRE_LUA, DESTINATION_KEYS, RELEASE_LUA, RESET_LUA } from 'src/destinations/limiter-scripts';
import { StepQueue } from 'src/queue/step-queue.service';
import type { StepTarget } from 'src/steps/step-handler';

/** Slack pacing (API.md §10, should): one message per second per channel or incoming webhook. */
const SLACK_PACE = { max: 1, perMs: 1000 };
/** A pace's keys vanish after this long unused. */
const PACE_EXPIRE_MS = 60_000;

/** Redis could not be asked: the job throws and Bull tries it again (the step uses no attempt). */
export class DestinationUnavailableError extends Error {}

/** The step that asks: its place in line and the job that will bring it back. */
export interface Waiter {
  /** `executionId:stepId`: one place in line per step. */
  member: string;
  /** The Bull job the runner hands off to when the step must wait. */
  jobId: string;
  /** When it first began to wait (Redis time, ms), kept on the step record. */
  since?: number;
  /** A lease not released by then (a crashed worker) frees its slot. */
  leaseTtlMs: number;
}

export type Outcome = 'ok' | 'fail' | 'none';

export interface GatePass {
  /** The attempt is over: frees its slot and counts it for the circuit. */
  leave(outcome: Outcome): Promise<void>;
}

export type GateDecision =
  { kind: 'go'; pass?: GatePass } | { kind: 'wait'; delayMs: number; waitingFor: string; since: number };

interface Limit {
  name: string;
  keys: DestinationKeys;
  max: number;
  perMs: number;
  concurrency: number;
  failures: number;
  cooldownMs: number;
  /** Implicit paces (Slack) expire when unused; destinations keep their state. */
  expireMs: number;
  label?: string;
}

type Command = (...args: Array<string | number>) => Promise<unknown>;

/**
 * Asks the destinations an attempt belongs to whether it may go now: one Lua decision over all of
 * them (limiter-scripts.ts). A step told to wait hands off to a delayed job due when its turn
 * comes; steps waiting for a slot or behind a circuit that closes are woken by promoting their jobs.
 */
@Injectable()
export class DestinationLimiter implements OnModuleInit {
  private readonly logger = new Logger(DestinationLimiter.name);
  private acquireCmd!: Command;
  private releaseCmd!: Command;
  private resetCmd!: Command;

  constructor(
    private readonly registry: DestinationRegistry,
    private readonly queue: StepQueue,
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    const redis = this.registry.redis;
    redis.defineCommand('hookflowDestAcquire', { lua: ACQUIRE_LUA });
    redis.defineCommand('hookflowDestRelease', { lua: RELEASE_LUA });
    redis.defineCommand('hookflowDestReset', { numberOfKeys: 4, lua: RESET_LUA });
    const commands = redis as unknown as Record<string, Command>;
    this.acquireCmd = commands.hookflowDestAcquire.bind(redis);
    this.releaseCmd = commands.hookflowDestRelease.bind(redis);
    this.resetCmd = commands.hookflowDestReset.bind(redis);
  }

  /** Whether a step's target needs rendering before its attempt at all. */
  get active(): boolean {
    return this.registry.all.length > 0;
  }

  /** One decision for an attempt to `target`; no call at all when nothing covers it. */
  async enter(target: StepTarget, waiter: Waiter): Promise<GateDecision> {
    for (let round = 0; ; round++) {
      const limits = this.limits(target);
      if (limits.length === 0) return { kind: 'go' };
      const named = limits.some((l) => l.expireMs === 0);
      const lease = randomUUID();
      const argv: Array<string | number> = [
        named ? this.registry.token : '',
        waiter.member,
        waiter.jobId,
        waiter.since ?? '',
        lease,
        waiter.leaseTtlMs,
        limits.length,
      ];
      const keys: string[] = [this.registry.versionKey];
      for (const l of limits) {
        keys.push(...DESTINATION_KEYS.map((k) => l.keys[k]));
        argv.push(l.name, l.max, l.perMs, l.concurrency, l.failures, l.cooldownMs, l.expireMs);
      }
      const r = (await this.call(this.acquireCmd, keys.length, ...keys, ...argv)) as Array<string | number>;
      if (r[0] === 'stale') {
        if (round >= 3) throw new DestinationUnavailableError('the destinations keep changing; trying again');
        await this.registry.reload();
        continue;
      }
      if (r[0] === 'ok') {
        this.wake(r.slice(2).map(String));
        const report = r[1] === 1;
        const breakers = limits.some((l) => l.failures > 0);
        if (!report && !breakers) return { kind: 'go' };
        return {
          kind: 'go',
          pass: {
            leave: (outcome) =>
              report || (outcome === 'fail' && breakers)
                ? this.release(limits, lease, outcome)
                : Promise.resolve(),
          },
        };
      }
      const [, why, name, wakeAt, now, since] = r;
      this.wake(r.slice(6).map(String));
      const limit = limits.find((l) => l.name === name);
      return {
        kind: 'wait',
        delayMs: Math.max(0, Number(wakeAt) - Number(now)),
        waitingFor: limit?.label ?? `destination ${String(name)}: ${WHY[String(why)] ?? String(why)}`,
        since: Number(since),
      };
    }
  }

  /** Closes the circuit and starts what waits for it; true when it was not closed. */
  async reset(name: string): Promise<boolean> {
    const k = this.registry.keys(name);
    const [was, jobs] = (await this.call(this.resetCmd, k.s, k.w, k.j, k.d)) as [string, string[]];
    this.wake(jobs);
    return was !== 'closed';
  }

  /** Starts the given steps' jobs now (a delayed job moved to waiting); a job not there yet is tried again. */
  wake(jobIds: string[], tries = 3): void {
    for (const id of jobIds) {
      void (async () => {
        if (!(await this.queue.promote(id)) && tries > 1) {
          // The step may still be committing its hand-off: look again shortly.
          setTimeout(() => this.wake([id], tries - 1), tries === 3 ? 150 : 1000).unref();
        }
      })().catch(() => undefined);
    }
  }

  private async release(limits: Limit[], lease: string, outcome: Outcome): Promise<void> {
    const argv: Array<string | number> = [lease, outcome, limits.length];
    const keys: string[] = [];
    for (const l of limits) {
      keys.push(...DESTINATION_KEYS.map((k) => l.keys[k]));
      argv.push(l.name, l.concurrency, l.failures);
    }
    try {
      // No numberOfKeys in defineCommand: the count goes first, as with EVAL.
      const [events, jobs] = (await this.releaseCmd(keys.length, ...keys, ...argv)) as [string[], string[]];
      this.wake(jobs);
      for (const e of events) await this.circuitChanged(e.slice(e.indexOf(':') + 1), e.startsWith('opened'));
    } catch (e) {
      // The lease runs out by itself; a lost count is one failure fewer toward opening.
      this.logger.warn({ err: (e as Error).message }, 'could not release a destination slot');
    }
  }

  /** Audited and logged once, by the process whose attempt changed it. */
  async circuitChanged(name: string, opened: boolean, actor = 'system'): Promise<void> {
    this.logger.warn(
      { destination: name },
      opened ? 'destination circuit opened' : 'destination circuit closed',
    );
    await this.db
      .transaction((m) =>
        this.audit.record(m, {
          actor,
          action: opened ? 'destination.circuit_opened' : 'destination.circuit_closed',
          target: `destination:${name}`,
        }),
      )
      .catch((e: unknown) =>
        this.logger.warn({ err: (e as Error).message }, 'could not audit a circuit change'),
      );
  }

  private limits(target: StepTarget): Limit[] {
    const matched = this.registry.match(target.url);
    if (matched.length === 0 && target.pace) {
      const hash = createHash('sha256').update(target.pace).digest('hex').slice(0, 24);
      return [
        {
          name: `~slack-${hash}`,
          keys: this.registry.keys(`~slack-${hash}`),
          ...SLACK_PACE,
          concurrency: 0,
          failures: 0,
          cooldownMs: 0,
          expireMs: PACE_EXPIRE_MS,
          label: 'slack pacing: 1 message per second to this channel',
        },
      ];
    }
    return matched.map(({ def }) => ({
      name: def.name,
      keys: this.registry.keys(def.name),
      max: def.rateLimit?.max ?? 0,
      perMs: def.rateLimit?.perMs ?? 0,
      concurrency: def.concurrency ?? 0,
      failures: def.circuitBreaker?.failures ?? 0,
      cooldownMs: def.circuitBreaker?.cooldownMs ?? 0,
      expireMs: 0,
    }));
  }

  private async call(cmd: Command, ...args: Array<string | number>): Promise<unknown> {
    try {
      return await cmd(...args);
    } catch (e) {
      throw new DestinationUnavailableError(`destination limiter: ${(e as Error).message}`);
    }
  }
}

const WHY: Record<string, string> = {
  circuit: 'circuit open',
  rate: 'rate limit',
  concurrency: 'concurrency limit',
};
