import {
  ExpressionBindings,
  ExpressionEvaluationError,
  ExpressionInput,
  isTruthy,
} from 'src/expressions/expression';
import { AttemptRecord, StepRecord } from 'src/executions/execution.entity';
import { CompiledFlow, CompiledStep } from 'src/flows/flow-compiler';

/** Where a job's walk through the steps stopped. */
export type Stop =
  | { kind: 'done' }
  | { kind: 'failed'; error: string; stepId: string; message: string }
  | { kind: 'handoff'; stepId: string; delayMs: number; waiting: boolean }
  /** A forEach starts (`items`) or resumes after a retry (`null`); its items run as jobs of their own. */
  | { kind: 'loop'; stepId: string; items: unknown[] | null };

/** What the walker asks of the runner: one attempt of one leaf step, and the `running` mark. */
export interface WalkHooks {
  /** Runs one attempt of a leaf step (or its `if`), updating the record it is given. */
  attempt(step: CompiledStep, rec: StepRecord, input: ExpressionInput): Promise<'continue' | Stop>;
  /** Called before an outbound attempt; false from settle() means the execution was taken away. */
  markRunning(): { settle(): Promise<boolean> };
  /** Stores the record as it should be written (masked) once its attempt is over. */
  store(id: string, rec: StepRecord): void;
  /** A forEach reached: its `if` and items (one recorded attempt); 'loop' to start or resume it. */
  enterLoop(step: CompiledStep, rec: StepRecord, input: ExpressionInput): Promise<'continue' | Stop>;
}

/** Key of the onError phase's record in the steps map; `@` is not allowed in step ids, so it never collides. */
export const ON_ERROR_KEY = '@onError';

const DONE_STATES = new Set(['succeeded', 'skipped']);

/** The job lost its execution (cancelled or handed to another job): write nothing. */
export const FENCED = Symbol('fenced');

/**
 * Walks an execution's steps in order, into the cases of branches, and runs each unfinished one:
 * pure steps inline, the first step that acts on the world for one attempt; the next such step (or a
 * retry, or a delay) stops the walk with a hand-off to a new job. Re-walking is how a job resumes:
 * finished steps only give their outputs back to the expression input, a branch that has chosen its
 * cases (`taken`) walks into them again. When the walk fails and the flow has `onError` steps, those
 * run once (the ON_ERROR_KEY record remembers the phase across jobs) and the execution still fails
 * with the original error.
 */
export class FlowWalker {
  private ranOutbound = false;

  constructor(
    private readonly flow: CompiledFlow,
    private readonly steps: Record<string, StepRecord>,
    private readonly input: ExpressionInput,
    private readonly bindings: ExpressionBindings,
    private readonly hooks: WalkHooks,
  ) {}

  async run(): Promise<Stop | typeof FENCED> {
    let phase = this.steps[ON_ERROR_KEY];
    let stop: Stop | typeof FENCED;
    if (!phase) {
      stop = await this.walk(this.flow.steps, false);
      if (stop === FENCED || stop.kind !== 'failed' || this.flow.onError.length === 0) return stop;
      phase = this.steps[ON_ERROR_KEY] = {
        status: 'running',
        error: stop.error,
        output: { stepId: stop.stepId, message: stop.message },
        attempts: [],
      };
      this.hooks.store(ON_ERROR_KEY, phase);
    } else {
      // The main steps ended already: give their outputs back to the input, run nothing of them.
      await this.walk(this.flow.steps, true);
    }
    const original = phase.error ?? 'failed';
    const failed = phase.output as { stepId: string; message: string };
    const failedStop: Stop = { kind: 'failed', error: original, ...failed };
    if (phase.status !== 'running') return failedStop;
    this.input.error = failed;
    const r = await this.walk(this.flow.onError, false);
    if (r === FENCED || r.kind === 'handoff' || r.kind === 'loop') return r;
    // A failure inside onError is recorded in its steps; it does not run onError again.
    phase.status = r.kind === 'done' ? 'succeeded' : 'failed';
    this.hooks.store(ON_ERROR_KEY, phase);
    return failedStop;
  }

  /** Walks one list of steps. `replay`: only give finished outputs back, run nothing. */
  private async walk(list: CompiledStep[], replay: boolean): Promise<Stop | typeof FENCED> {
    for (const step of list) {
      const id = step.def.id;
      const rec: StepRecord = (this.steps[id] ??= { status: 'pending', attempts: [] });
      if (step.loop) {
        const r = await this.loop(step, rec, replay);
        if (r === 'continue') continue;
        return r;
      }
      if (step.branch && rec.status !== 'skipped') {
        const r = await this.branch(step, rec, replay);
        if (r === 'continue') continue;
        return r;
      }
      if (DONE_STATES.has(rec.status) || (rec.status === 'failed' && step.def.continueOnError)) {
        if (rec.status === 'succeeded') this.input.steps[id] = rec.output ?? null;
        continue;
      }
      if (replay) continue;
      if (!step.handler.pure && this.ranOutbound) {
        return { kind: 'handoff', stepId: id, delayMs: 0, waiting: false };
      }
      let running: { settle(): Promise<boolean> } | undefined;
      if (!step.handler.pure) {
        this.ranOutbound = true;
        rec.status = 'running';
        running = this.hooks.markRunning();
      }
      const result = await this.hooks.attempt(step, rec, this.input);
      this.hooks.store(id, rec);
      // Keep the writes in order: a 'running' write still in flight must land before the result.
      if (running && !(await running.settle())) return FENCED;
      if (result === 'continue') continue;
      return result;
    }
    return { kind: 'done' };
  }

  /**
   * A branch: chooses its cases once (one attempt, like a pure step), remembers them in `taken`, and
   * walks their steps; it succeeds when they all have, and fails with the step that failed inside.
   */
  private async branch(
    step: CompiledStep,
    rec: StepRecord,
    replay: boolean,
  ): Promise<'continue' | Stop | typeof FENCED> {
    const branch = step.branch!;
    const id = step.def.id;
    if (rec.taken === undefined) {
      if (replay) return 'continue';
      const chosen = await this.choose(step, rec);
      if (chosen !== 'continue') return chosen;
      if (rec.status === 'skipped') return 'continue';
    }
    if (rec.status === 'failed' && (replay || step.def.continueOnError)) return 'continue';
    for (const k of rec.taken ?? []) {
      const body = k === -1 ? branch.default : branch.cases[k].steps;
      const r = await this.walk(body, replay);
      if (r === FENCED || r.kind === 'handoff' || r.kind === 'loop') return r;
      if (r.kind === 'failed') {
        rec.status = 'failed';
        rec.error = r.error;
        this.hooks.store(id, rec);
        // The execution's error names the step inside that failed, not the branch around it.
        return step.def.continueOnError ? 'continue' : r;
      }
    }
    if (rec.status !== 'succeeded' && !replay) {
      rec.status = 'succeeded';
      this.hooks.store(id, rec);
    }
    this.input.steps[id] = rec.output ?? null;
    return 'continue';
  }

  /**
   * A forEach: the main lane stops at it (a 'loop' stop: src/executions/loops runs the items) and
   * comes back once the loop has ended and written this record's final status and output.
   */
  private async loop(step: CompiledStep, rec: StepRecord, replay: boolean): Promise<'continue' | Stop> {
    const id = step.def.id;
    if (DONE_STATES.has(rec.status)) {
      if (rec.status === 'succeeded') this.input.steps[id] = rec.output ?? null;
      return 'continue';
    }
    if (rec.status === 'failed') {
      if (replay || step.def.continueOnError) return 'continue';
      const message = rec.error ?? 'failed';
      return { kind: 'failed', error: `step ${id} failed: ${message}`, stepId: id, message };
    }
    if (replay) return 'continue';
    const r = await this.hooks.enterLoop(step, rec, this.input);
    this.hooks.store(id, rec);
    return r;
  }

  /** Evaluates the branch's `if` and its cases' `when`: one recorded attempt. */
  private async choose(step: CompiledStep, rec: StepRecord): Promise<'continue' | Stop> {
    const branch = step.branch!;
    const id = step.def.id;
    const started = Date.now();
    const attempt = (error?: string): AttemptRecord => ({
      n: rec.attempts.length + 1,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      ...(error !== undefined ? { error } : {}),
    });
    try {
      if (step.if && !isTruthy(await step.if.evaluate(this.input, this.bindings))) {
        rec.status = 'skipped';
        rec.attempts.push(attempt());
        this.hooks.store(id, rec);
        return 'continue';
      }
      const taken: number[] = [];
      for (const [i, c] of branch.cases.entries()) {
        if (!isTruthy(await c.when.evaluate(this.input, this.bindings))) continue;
        taken.push(i);
        if (branch.mode === 'first') break;
      }
      rec.taken = taken.length > 0 ? taken : [-1];
      rec.output = { matched: taken.map((i) => branch.cases[i].label) };
      rec.status = 'running';
      rec.attempts.push(attempt());
      this.hooks.store(id, rec);
      return 'continue';
    } catch (e) {
      const message = e instanceof ExpressionEvaluationError ? e.message : `internal error: ${String(e)}`;
      rec.status = 'failed';
      rec.error = message;
      rec.attempts.push(attempt(message));
      this.hooks.store(id, rec);
      if (step.def.continueOnError) return 'continue';
      return { kind: 'failed', error: `step ${id} failed: ${message}`, stepId: id, message };
    }
  }
}
