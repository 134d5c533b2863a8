import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleInit,
} from '@nestjs/common';
import { BROKER_TRIGGER_TYPES } from 'src/flows/definitions/broker-trigger.dto';
import { BrokerIntake } from 'src/brokers/broker-intake.service';
import { BrokerTargets } from 'src/brokers/broker-targets';
import { AmqpConsumer } from 'src/brokers/consumers/amqp-consumer';
import { BrokerConsumer, ConsumerHooks, errorText } from 'src/brokers/consumers/broker-consumer';
import { MqttConsumer } from 'src/brokers/consumers/mqtt-consumer';
import { NatsConsumer } from 'src/brokers/consumers/nats-consumer';
import { aggregateStatus, nextStatus, TriggerStatus } from 'src/brokers/trigger-status';
import { STATUS_REFRESH_MS, TriggerStatusStore } from 'src/brokers/trigger-status.store';
import { WorkerSlots } from 'src/brokers/worker-slots';
import { AppConfig } from 'src/config/app-config';
import { runsJobs } from 'src/config/env';
import { Sql } from 'src/database/sql.service';
import { CompiledFlow } from 'src/flows/flow-compiler';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { BrokerTriggerDefinition, FlowDefinition } from 'src/flows/flow-definition';
import { FlowChangeListener, FlowService } from 'src/flows/flow.service';
import { SecretsService } from 'src/secrets/secrets.service';
import { parseAllowList } from 'src/steps/outbound/address-guard';
import { StepQueue } from 'src/queue/step-queue.service';

/** How often the flows table is read (a change made by another process shows up within this). */
const SYNC_EVERY_MS = 1_000;

interface Running {
  version: number;
  /** The trigger without its idempotency key: when this changes, the consumers reconnect. */
  connection: string;
  /** The version messages are routed by; replaced in place when only the steps or filter change. */
  flow: CompiledFlow;
  consumers: Map<string, BrokerConsumer>;
  statuses: Map<string, TriggerStatus>;
}

function connectionOf(trigger: BrokerTriggerDefinition): string {
  const { idempotencyKey: _key, ...rest } = trigger;
  return JSON.stringify(rest);
}

/**
 * A changed trigger that leaves an MQTT topic (or broker) behind: the persistent session would keep the
 * old subscription, and the new consumer, resuming it under the same client id, would go on receiving
 * the old topic. Such a session is dropped; one whose topic stays (a new qos, new credentials) is kept.
 */
function leavesMqttSession(before: FlowDefinition['trigger'], after: BrokerTriggerDefinition): boolean {
  if (before.type !== 'mqtt') return false;
  return after.type !== 'mqtt' || after.topic !== before.topic || after.url !== before.url;
}

/**
 * Runs one consumer per enabled broker flow in this worker process (API.md §11). Learns of flow
 * changes like the scheduler does: at once from FlowService for changes made in this process, and
 * by reading the flows table every second for changes made elsewhere (an API process, another
 * thread) — so enable, disable, delete and update take effect within about a second. A definition
 * change that leaves the connection as it was swaps the flow version without reconnecting.
 */
@Injectable()
export class ConsumerSupervisor
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, FlowChangeListener
{
  private readonly logger = new Logger(ConsumerSupervisor.name);
  private readonly running = new Map<string, Running>();
  private readonly targets: BrokerTargets;
  private readonly slots: WorkerSlots;
  private syncTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private syncing?: Promise<void>;
  private again = false;
  private stopped = false;
  private enabled = false;

  constructor(
    private readonly sql: Sql,
    private readonly flowCache: FlowCacheService,
    private readonly flowService: FlowService,
    private readonly intake: BrokerIntake,
    private readonly store: TriggerStatusStore,
    private readonly config: AppConfig,
    secrets: SecretsService,
    queue: StepQueue,
  ) {
    this.targets = new BrokerTargets(parseAllowList(config.values.OUTBOUND_ALLOW), secrets);
    this.slots = new WorkerSlots(queue.redis, config.values.QUEUE_PREFIX, store.reporter);
  }

  onModuleInit(): void {
    this.enabled = runsJobs(this.config.values);
    if (this.enabled) this.flowService.onChange(this);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    await this.heartbeat();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), STATUS_REFRESH_MS);
    this.heartbeatTimer.unref();
    this.syncTimer = setInterval(() => void this.sync(), SYNC_EVERY_MS);
    this.syncTimer.unref();
    void this.sync();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.syncTimer);
    clearInterval(this.heartbeatTimer);
    await this.syncing;
    await Promise.all([...this.running.keys()].map((id) => this.stopFlow(id, false)));
    await this.slots.release().catch(() => undefined);
  }

  /** A flow changed in this process: look now rather than at the next tick. */
  flowChanged(): Promise<void> {
    void this.sync();
    return Promise.resolve();
  }

  /** Brings the running consumers in line with the flows table; concurrent calls fold into one more pass. */
  sync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = this.pass()
      .catch((e: unknown) => this.logger.warn({ err: errorText(e) }, 'broker trigger sync failed; retrying'))
      .finally(() => {
        this.syncing = undefined;
        if (this.again) {
          this.again = false;
          void this.sync();
        }
      });
    return this.syncing;
  }

  private async pass(): Promise<void> {
    const wanted = await this.sql.rows<{ id: string; version: number }>(
      `SELECT id, version FROM flows WHERE trigger_type = ANY($1::text[]) AND enabled AND deleted_at IS NULL`,
      [BROKER_TRIGGER_TYPES],
    );
    const byId = new Map(wanted.map((w) => [w.id, w.version]));
    const gone = [...this.running.keys()].filter((id) => !byId.has(id));
    if (gone.length > 0) {
      const alive = await this.sql.rows<{ id: string }>(
        `SELECT id FROM flows WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`,
        [gone],
      );
      const kept = new Set(alive.map((r) => r.id));
      // A deleted flow's broker state (an MQTT session) is dropped; a disabled one's is kept.
      await Promise.all(gone.map((id) => this.stopFlow(id, !kept.has(id))));
    }
    for (const [id, version] of byId) {
      if (this.stopped) return;
      const current = this.running.get(id);
      if (current?.version === version) continue;
      try {
        await this.startOrUpdate(id, version, current);
      } catch (e) {
        this.logger.warn(
          { flowId: id, err: this.targets.mask(errorText(e)) },
          'could not start a broker trigger',
        );
      }
    }
  }

  private async startOrUpdate(id: string, version: number, current: Running | undefined): Promise<void> {
    const flow = await this.flowCache.get(id, version);
    const trigger = flow.definition.trigger as BrokerTriggerDefinition;
    const connection = connectionOf(trigger);
    if (current && current.connection === connection) {
      current.flow = flow;
      current.version = version;
      return;
    }
    if (current) await this.stopFlow(id, leavesMqttSession(current.flow.definition.trigger, trigger));
    const entry: Running = { version, connection, flow, consumers: new Map(), statuses: new Map() };
    this.running.set(id, entry);
    this.startConsumers(id, entry);
  }

  /** One consumer per flow; MQTT one per worker slot this process holds (see WorkerSlots). */
  private startConsumers(id: string, entry: Running): void {
    const trigger = entry.flow.definition.trigger as BrokerTriggerDefinition;
    const keys = trigger.type === 'mqtt' ? this.slots.slots.map((n) => `slot-${n}`) : ['main'];
    for (const key of keys) {
      if (entry.consumers.has(key)) continue;
      const hooks = this.hooks(id, key, entry, trigger);
      const consumer =
        trigger.type === 'amqp'
          ? new AmqpConsumer(hooks, trigger)
          : trigger.type === 'mqtt'
            ? new MqttConsumer(hooks, trigger, `hookflow-${id}-${key}`)
            : new NatsConsumer(hooks, trigger);
      entry.consumers.set(key, consumer);
      consumer.start();
    }
  }

  private hooks(id: string, key: string, entry: Running, trigger: BrokerTriggerDefinition): ConsumerHooks {
    return {
      flowId: id,
      logger: this.logger,
      mask: (text) => this.targets.mask(text),
      target: () => this.targets.target(trigger),
      deliver: async (message) => {
        await this.intake.accept(entry.flow, trigger.type, message);
      },
      status: (state, detail = {}) => {
        if (this.running.get(id) !== entry) return;
        const masked =
          detail.error === undefined ? detail : { ...detail, error: this.targets.mask(detail.error) };
        entry.statuses.set(key, nextStatus(entry.statuses.get(key), state, masked));
        void this.report(id, entry);
      },
    };
  }

  private async report(id: string, entry: Running): Promise<void> {
    const now = Date.now();
    const status = aggregateStatus(
      [...entry.statuses.values()].map((s) => ({ ...s, at: now })),
      now,
      Infinity,
    );
    if (status) await this.store.report(id, status);
  }

  private async stopFlow(id: string, forget: boolean): Promise<void> {
    const entry = this.running.get(id);
    if (!entry) return;
    this.running.delete(id);
    await Promise.all([...entry.consumers.values()].map((c) => c.stop({ forget })));
    await this.store.clear(id);
  }

  /** Keeps this process's reports alive and its worker slots leased; starts consumers on new slots. */
  private async heartbeat(): Promise<void> {
    try {
      if (await this.slots.refresh()) {
        const held = new Set(this.slots.slots.map((n) => `slot-${n}`));
        for (const [id, entry] of this.running) {
          if (entry.flow.definition.trigger.type !== 'mqtt') continue;
          // A lease lost (Redis lost it, or this process stalled past it): another process may use that id now.
          for (const [key, consumer] of entry.consumers) {
            if (held.has(key)) continue;
            entry.consumers.delete(key);
            entry.statuses.delete(key);
            void consumer.stop({ forget: false });
          }
          this.startConsumers(id, entry);
        }
      }
    } catch (e) {
      this.logger.warn({ err: errorText(e) }, 'could not renew worker slots');
    }
    for (const [id, entry] of this.running) void this.report(id, entry);
  }
}
