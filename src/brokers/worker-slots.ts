import type { Redis } from 'ioredis';

/** A slot lease outlives its owner by at most this long; owners renew at a third of it. */
export const SLOT_LEASE_MS = 30_000;
const MAX_SLOTS = 256;

/** Renews a lease only while this owner still holds it. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * Numbered worker slots leased in Redis, for identities that must survive a restart: an MQTT
 * consumer's client id is `hookflow-<flowId>-<slot>`, and the broker keeps the session of that id
 * (its subscription and the QoS 1 messages not yet acknowledged) while it is away. A process takes
 * the lowest free slot; a slot whose owner died (its lease ran out) is adopted by a live process,
 * which then also runs consumers on it — so messages held in a dead worker's session are resumed
 * and committed even when the restarted worker took another slot.
 */
export class WorkerSlots {
  private readonly held = new Set<number>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly owner: string,
  ) {}

  get slots(): number[] {
    return [...this.held].sort((a, b) => a - b);
  }

  private key(n: number): string {
    return `${this.prefix}:broker-slot:${n}`;
  }

  private get knownKey(): string {
    return `${this.prefix}:broker-slots`;
  }

  /** Renews held leases, takes a first slot, adopts orphaned ones; true when the held set changed. */
  async refresh(): Promise<boolean> {
    const before = this.slots.join(',');
    for (const n of this.slots) {
      const renewed = await this.redis.eval(RENEW, 1, this.key(n), this.owner, SLOT_LEASE_MS);
      if (renewed !== 1) this.held.delete(n);
    }
    if (this.held.size === 0) {
      for (let n = 0; n < MAX_SLOTS; n++) {
        if (await this.take(n)) break;
      }
    }
    const known = (await this.redis.smembers(this.knownKey)).map(Number).filter((n) => !this.held.has(n));
    for (const n of known) await this.take(n);
    return this.slots.join(',') !== before;
  }

  private async take(n: number): Promise<boolean> {
    const ok = await this.redis.set(this.key(n), this.owner, 'PX', SLOT_LEASE_MS, 'NX');
    if (ok !== 'OK') return false;
    this.held.add(n);
    await this.redis.sadd(this.knownKey, String(n));
    return true;
  }

  async release(): Promise<void> {
    for (const n of this.slots)
      await this.redis.eval(RELEASE, 1, this.key(n), this.owner).catch(() => undefined);
    this.held.clear();
  }
}
