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

/**
 * Nice value of MODE=all's worker threads. When the CPU is saturated, answering senders wins and
 * delivery catches up from the queue: accepted work is durable, a sender that times out is not.
 * At lower load nothing waits, as both threads find a free core.
 */
export const WORKER_THREAD_NICE = 10;

/** Applied once at boot, before any worker thread (and its heap) exists. */
export function tuneGarbageCollector(): void {
  if (process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
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
