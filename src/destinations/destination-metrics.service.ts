import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { AppConfig } from 'src/config/app-config';
import { DestinationRegistry } from 'src/destinations/destination-registry.service';
import { DestinationsService, DestinationState } from 'src/destinations/destinations.service';
import { MetricsService } from 'src/metrics/metrics.service';

/**
 * `hookflow_destination_waiting` and `hookflow_destination_circuit_open` (API.md §2), read from Redis
 * at scrape time like the queue depth, so every process reports the shared state.
 */
@Injectable()
export class DestinationMetrics implements OnModuleInit {
  private pending?: Promise<Map<string, DestinationState>>;

  constructor(
    private readonly metrics: MetricsService,
    private readonly registry: DestinationRegistry,
    private readonly destinations: DestinationsService,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    if (this.config.values.workerThread) return; // the main thread reports the shared state
    const states = (): Promise<Map<string, DestinationState>> => (this.pending ??= this.read());
    new Gauge({
      name: 'hookflow_destination_waiting',
      help: 'Steps waiting for a destination (its limits or its open circuit)',
      labelNames: ['destination'] as const,
      registers: [this.metrics.registry],
      async collect() {
        this.reset();
        for (const [destination, s] of await states()) this.set({ destination }, s.waiting);
      },
    });
    new Gauge({
      name: 'hookflow_destination_circuit_open',
      help: "1 while a destination's circuit is open (or half-open), 0 while closed",
      labelNames: ['destination'] as const,
      registers: [this.metrics.registry],
      async collect() {
        this.reset();
        for (const [destination, s] of await states())
          this.set({ destination }, s.circuit === 'closed' ? 0 : 1);
      },
    });
  }

  /** One read per scrape for both gauges; a scrape answers without them when Redis is away. */
  private async read(): Promise<Map<string, DestinationState>> {
    const out = new Map<string, DestinationState>();
    try {
      if (this.registry.redis.status !== 'ready') return out;
      const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000).unref());
      for (const { def } of this.registry.all) {
        const state = await Promise.race([this.destinations.state(def), timeout]);
        if (!state) break;
        out.set(def.name, state);
      }
      return out;
    } catch {
      return out;
    } finally {
      // Shared by the two gauges of one scrape only: the next scrape reads again (a reset shows at once).
      setTimeout(() => (this.pending = undefined), 0).unref();
    }
  }
}
