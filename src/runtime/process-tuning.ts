import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets a heap grow past what the last full GC kept before it collects again. Left to
 * itself it allows about 4× (the live heap of a thread is ~45 MB, so ~180 MB each); 1.5× keeps
 * MODE=all with its worker thread under 300 MB at full load, for a few more full GCs (they run
 * mostly concurrently). `node --heap-growing-percent=N dist/main.js` overrides it.
 */
const HEAP_GROWING_PERCENT = 50;

/** Whether `node <flag>=…` was given on the command line: then it wins over the tuning here. */
function given(flag: string): boolean {
  return process.execArgv.some((a) => a.startsWith(flag));
}

/**
 * A worker thread's young generation follows `node --max-semi-space-size=N` (V8 sizes it at three
 * semi-spaces), which a thread's own heap does not take from the command line. With
 * `--heap-growing-percent=25` it is the memory-saving setting of docs/performance.md ("Memory"):
 * peak RSS ~245 MB instead of ~300, for 10–15 % fewer deliveries/s at full load.
 */
export function workerResourceLimits(execArgv: readonly string[] = process.execArgv): {
  maxYoungGenerationSizeMb?: number;
} {
  const flag = execArgv.find((a) => a.startsWith('--max-semi-space-size='));
  const mb = flag ? Number(flag.split('=')[1]) : NaN;
  return Number.isFinite(mb) && mb > 0 ? { maxYoungGenerationSizeMb: 3 * mb } : {};
}

/**
 * Nice value of MODE=all's worker threads. When the CPU is saturated, answering senders wins and
 * delivery catches up from the queue: accepted work is durable, a sender that times out is not.
 * At lower load nothing waits, as both threads find a free core.
 */
export const WORKER_THREAD_NICE = 10;

/** Applied once at boot, before any worker thread (and its heap) exists. */
export function tuneGarbageCollector(): void {
  if (!given('--heap-growing-percent')) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/**
 * Lowers the CPU priority of the calling thread only: on Linux a nice value belongs to a thread,
 * named by its id in /proc/thread-self. Says false where that does not exist (other systems).
 */
export function lowerThreadPriority(nice: number): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
