import type { MetricObjectWithValues, MetricValue } from 'prom-client';

// What a MODE=all process and its worker threads (src/worker-thread.ts) say to each other.
export type ToThread = { type: 'metrics'; id: number } | { type: 'stop' };
export type FromThread =
  | { type: 'ready' }
  | { type: 'boot-failed'; message: string }
  | { type: 'metrics'; id: number; metrics: Array<MetricObjectWithValues<MetricValue<string>>> };
