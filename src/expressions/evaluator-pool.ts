import { getPriority, setPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  jsonNestsDeeperThan,
  MAX_JSON_DEPTH,
  mayHoldSurrogateEscape,
  unstorableReason,
} from 'src/common/jsonb';
import {
  EvaluationRequest,
  EvaluatorLimits,
  EvaluatorMessage,
  evaluatorThread,
} from 'src/expressions/evaluator-worker';
import {
  EVALUATION_MAX_DEPTH,
  EVALUATION_MAX_SEQUENCE,
  EVALUATION_TIMEOUT_MS,
  EVALUATOR_HEAP_MB,
  ExpressionEvaluationError,
  timeoutMessage,
} from 'src/expressions/expression-limits';

/** Threads kept once started (all of them on the first use, never before). */
const BASE_THREADS = 2;
/** More threads only while every thread has been busy for STALL_MS (slow expressions of several flows). */
const MAX_THREADS = 4;
const STALL_MS = 25;
/**
 * An evaluation still running after LOWER_AFTER_MS gets its thread's CPU priority lowered to
 * RUNAWAY_NICE (Linux), so that on a saturated host it takes CPU from nobody: intake and the step
 * runner win. Afterwards the priority goes back, or where the process may not raise it (no
 * CAP_SYS_NICE) the thread stops and a fresh one takes its place.
 */
const LOWER_AFTER_MS = 100;
const RUNAWAY_NICE = 19;
/** A thread above BASE_THREADS that stays idle this long is stopped. */
const IDLE_MS = 10_000;
/** JSONata's own timeout (checked between its steps) gets this long to answer before the thread is killed. */
const KILL_GRACE_MS = 25;
/** A flow whose expressions queue up behind its own slow ones fails those that waited this long. */
const QUEUE_WAIT_LIMIT_MS = 5 * EVALUATION_TIMEOUT_MS;

// The thread runs evaluatorThread's own text: plain JavaScript under ts-node and from dist/ alike.
const BOOT = `
const { parentPort, workerData } = require('node:worker_threads');
let tid = 0;
try {
  tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()) || 0;
} catch {}
(${evaluatorThread.toString()})(require(workerData.jsonata), parentPort, workerData.limits, tid);
`;
const LIMITS: EvaluatorLimits = {
  timeoutMs: EVALUATION_TIMEOUT_MS,
  depth: EVALUATION_MAX_DEPTH,
  sequence: EVALUATION_MAX_SEQUENCE,
  timeoutMessage: timeoutMessage(),
};

interface Task {
  owner: string;
  source: string;
  input: unknown;
  secrets: Record<string, string>;
  queuedAt: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  tid: number;
  /** Its nice value before it was lowered for a long evaluation. */
  lowered?: number;
  task?: Task;
  taskId: number;
  startedAt: number;
  killTimer?: NodeJS.Timeout;
  idleTimer?: NodeJS.Timeout;
  lastError?: Error & { code?: string };
}

/**
 * Runs JSONata in a few worker threads, so that no expression holds the thread that accepts
 * webhooks or runs steps, and a runaway one (a catastrophic regex, `$pad` to 20 M characters) is
 * stopped: past EVALUATION_TIMEOUT_MS its thread is terminated (V8 interrupts even a regex) and a
 * new one takes its place when needed.
 *
 * Fairness, kept simple: tasks wait in one FIFO per owner (the flow id), owners are served round
 * robin, and an owner has at most one evaluation running at a time. So one flow, however slow its
 * expressions, holds at most one thread and waits behind itself only; the other threads serve the
 * other flows. A flow whose last evaluation ran away starts its next one only while another thread
 * stays idle (see nextOwner). Threads start lazily, up to BASE_THREADS; when every thread has been busy on one
 * evaluation for STALL_MS (slow expressions of several flows at once) the pool grows to
 * MAX_THREADS, and the extra threads stop after IDLE_MS idle. Threads are unref'd whenever no
 * evaluation is pending, so they never keep a process alive.
 */
export class EvaluatorPool {
  private readonly slots: Slot[] = [];
  /** Waiting tasks per owner; Map order is the round-robin order. */
  private readonly queues = new Map<string, Task[]>();
  /** Owners with an evaluation running. */
  private readonly running = new Set<string>();
  /** Owners whose last evaluation was stopped (time or memory). */
  private readonly runaways = new Set<string>();
  private nextTaskId = 0;
  private stallTimer?: NodeJS.Timeout;
  private bootFailures = 0;
  /** Used at least once since start or close(): BASE_THREADS are kept from then on. */
  private started = false;
  /** Whether the threads are ref'd (an evaluation waiting or running). */
  private refed = true;

  /** Evaluates `source` on `input` with `$secrets` bound; the value is plain JSON (or undefined). */
  evaluate(owner: string, source: string, input: unknown, secrets: Record<string, string>): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const task: Task = { owner, source, input, secrets, queuedAt: Date.now(), resolve, reject };
      const queue = this.queues.get(owner);
      if (queue) queue.push(task);
      else this.queues.set(owner, [task]);
      this.started = true;
      this.pump();
    });
  }

  /** Ids of the threads started (booting, busy or idle): for tests. */
  get threadIds(): number[] {
    return this.slots.map((s) => s.worker.threadId);
  }

  /** Stops every thread; pending evaluations fail. The pool starts threads again if used later. */
  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    this.started = false;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    const closed = new ExpressionEvaluationError('expression evaluators are shutting down');
    for (const slot of slots) {
      clearTimeout(slot.killTimer);
      clearTimeout(slot.idleTimer);
      slot.task?.reject(closed);
    }
    for (const queue of this.queues.values()) for (const task of queue) task.reject(closed);
    this.queues.clear();
    this.running.clear();
    this.runaways.clear();
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private pump(): void {
    // Both base threads from the first use on, and a replacement at once for one killed: a thread
    // is ready for the other flows when one flow's runaway holds (or just lost) its thread.
    while (this.started && this.slots.length < BASE_THREADS) this.spawn();
    for (;;) {
      const idle = this.slots.filter((s) => s.ready && !s.task);
      const owner = this.nextOwner(idle.length);
      if (owner === undefined) break;
      if (idle.length === 0) {
        this.grow();
        break;
      }
      const queue = this.queues.get(owner)!;
      const task = queue.shift()!;
      // To the back of the round: the next owner with work goes first next time.
      this.queues.delete(owner);
      if (queue.length > 0) this.queues.set(owner, queue);
      this.dispatch(idle[0], task);
    }
    this.updateRefs();
  }

  /**
   * The first owner in round-robin order with a waiting task and nothing running. An owner whose
   * last evaluation ran away takes a thread only while another one stays idle for everyone else,
   * so its next runaway (or the boot of the thread replacing its last one) holds nobody. It gets
   * no extra thread for that: while the others keep the threads busy it waits, up to
   * QUEUE_WAIT_LIMIT_MS.
   */
  private nextOwner(idle: number): string | undefined {
    const now = Date.now();
    for (const [owner, queue] of this.queues) {
      if (this.running.has(owner)) continue;
      while (queue.length > 0 && now - queue[0].queuedAt > QUEUE_WAIT_LIMIT_MS) {
        queue
          .shift()!
          .reject(
            new ExpressionEvaluationError(
              `expression waited more than ${QUEUE_WAIT_LIMIT_MS} ms for its turn behind this flow's slow expressions`,
            ),
          );
      }
      if (queue.length === 0) {
        this.queues.delete(owner);
      } else if (!this.runaways.has(owner) || idle >= 2) {
        return owner;
      }
    }
    return undefined;
  }

  private grow(): void {
    // An extra thread boots one at a time; it pumps when ready.
    if (this.slots.length >= MAX_THREADS || this.slots.some((s) => !s.ready)) return;
    const now = Date.now();
    const youngest = Math.max(...this.slots.map((s) => s.startedAt));
    if (now - youngest >= STALL_MS) return this.spawn();
    if (this.stallTimer) return;
    this.stallTimer = setTimeout(
      () => {
        this.stallTimer = undefined;
        this.pump();
      },
      STALL_MS - (now - youngest),
    );
    this.stallTimer.unref();
  }

  private spawn(): void {
    const worker = new Worker(BOOT, {
      eval: true,
      workerData: { jsonata: require.resolve('jsonata'), limits: LIMITS },
      // No --require of the parent (ts-node in tests): the thread runs plain JavaScript.
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: EVALUATOR_HEAP_MB },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, ready: false, tid: 0, taskId: 0, startedAt: 0 };
    this.slots.push(slot);
    if (!this.refed) worker.unref();
    worker.on('message', (m: EvaluatorMessage) => this.onMessage(slot, m));
    worker.on('error', (e: Error) => (slot.lastError = e));
    worker.on('exit', () => this.onExit(slot));
  }

  private dispatch(slot: Slot, task: Task): void {
    slot.task = task;
    slot.taskId = ++this.nextTaskId;
    slot.startedAt = Date.now();
    clearTimeout(slot.idleTimer);
    this.running.add(task.owner);
    // One timer at a time: first the priority drop, then the kill.
    slot.killTimer = setTimeout(() => this.lower(slot), LOWER_AFTER_MS);
    const request: EvaluationRequest = {
      id: slot.taskId,
      source: task.source,
      input: task.input,
      secrets: task.secrets,
    };
    try {
      slot.worker.postMessage(request);
    } catch (e) {
      // A value structured clone refuses (a function in the input): this evaluation's fault alone.
      this.release(slot);
      this.idle(slot);
      task.reject(
        new ExpressionEvaluationError(`expression input cannot be evaluated: ${(e as Error).message}`),
      );
    }
  }

  private onMessage(slot: Slot, m: EvaluatorMessage): void {
    if (m.type === 'ready') {
      slot.ready = true;
      slot.tid = m.tid;
      this.bootFailures = 0;
      this.pump();
      return;
    }
    const task = slot.task;
    if (!task || m.id !== slot.taskId) return;
    this.release(slot);
    if (!this.restorePriority(slot)) this.retire(slot);
    else this.idle(slot);
    this.runaways.delete(task.owner);
    if (m.type === 'failed') task.reject(new ExpressionEvaluationError(m.message));
    else if (m.json === undefined) task.resolve(undefined);
    else {
      try {
        task.resolve(storableValue(m.json));
      } catch (e) {
        task.reject(e as Error);
      }
    }
    this.pump();
  }

  /** The slot's evaluation is over (answered or failed): it takes the next one. */
  private release(slot: Slot): void {
    const task = slot.task;
    clearTimeout(slot.killTimer);
    slot.task = undefined;
    if (task) this.running.delete(task.owner);
  }

  /** A thread above BASE_THREADS stops when it stays idle for IDLE_MS. */
  private idle(slot: Slot): void {
    if (this.slots.length <= BASE_THREADS) return;
    slot.idleTimer = setTimeout(() => {
      if (slot.task || !this.remove(slot)) return;
      void slot.worker.terminate();
    }, IDLE_MS);
    slot.idleTimer.unref();
  }

  private lower(slot: Slot): void {
    slot.killTimer = setTimeout(
      () => this.kill(slot),
      EVALUATION_TIMEOUT_MS + KILL_GRACE_MS - LOWER_AFTER_MS,
    );
    if (slot.tid <= 0 || slot.lowered !== undefined) return;
    try {
      const nice = getPriority(slot.tid);
      setPriority(slot.tid, RUNAWAY_NICE);
      slot.lowered = nice;
    } catch {
      // Not Linux, or not allowed: the time bound still holds.
    }
  }

  /** True when the thread runs at its own priority again (or never left it). */
  private restorePriority(slot: Slot): boolean {
    if (slot.lowered === undefined) return true;
    try {
      setPriority(slot.tid, slot.lowered);
      slot.lowered = undefined;
      return true;
    } catch {
      return false;
    }
  }

  /** Stops a thread now (pump() starts a replacement when the pool is below BASE_THREADS). */
  private retire(slot: Slot): void {
    if (this.remove(slot)) void slot.worker.terminate();
  }

  private kill(slot: Slot): void {
    const task = slot.task;
    if (!task || !this.remove(slot)) return;
    this.release(slot);
    this.runaways.add(task.owner);
    void slot.worker.terminate();
    task.reject(new ExpressionEvaluationError(timeoutMessage()));
    this.pump();
  }

  /** A thread that ended on its own: out of memory, or it never booted. */
  private onExit(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    if (!this.remove(slot)) return;
    const task = slot.task;
    this.release(slot);
    const err = slot.lastError;
    if (task) {
      this.runaways.add(task.owner);
      task.reject(
        new ExpressionEvaluationError(
          err?.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `expression used more than ${EVALUATOR_HEAP_MB} MB of memory`
            : `expression evaluator stopped: ${err?.message ?? 'exited'}`,
        ),
      );
    }
    if (!slot.ready && ++this.bootFailures >= 3) {
      // A thread that cannot boot will not boot on the next try either: fail what waits, loudly.
      const failed = new ExpressionEvaluationError(
        `expression evaluator did not start: ${err?.message ?? 'exited'}`,
      );
      for (const queue of this.queues.values()) for (const t of queue) t.reject(failed);
      this.queues.clear();
      this.bootFailures = 0;
      this.started = false;
    }
    this.pump();
  }

  private remove(slot: Slot): boolean {
    const i = this.slots.indexOf(slot);
    if (i === -1) return false;
    this.slots.splice(i, 1);
    return true;
  }

  /** Threads keep the process alive only while an evaluation is waiting or running. */
  private updateRefs(): void {
    const pending = this.running.size > 0 || this.queues.size > 0;
    if (pending === this.refed) return;
    this.refed = pending;
    for (const slot of this.slots) {
      if (pending) slot.worker.ref();
      else slot.worker.unref();
    }
  }
}

/** The value of the JSON text, or an evaluation error for one PostgreSQL's jsonb would refuse. */
function storableValue(json: string): unknown {
  if (jsonNestsDeeperThan(json))
    throw new ExpressionEvaluationError(`the value nests deeper than ${MAX_JSON_DEPTH} levels`);
  const value: unknown = JSON.parse(json);
  if (mayHoldSurrogateEscape(json)) {
    const reason = unstorableReason(value);
    if (reason) throw new ExpressionEvaluationError(`the value cannot be stored: ${reason}`);
  }
  return value;
}
