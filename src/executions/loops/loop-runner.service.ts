import { Injectable } from '@nestjs/common';
import {
  ExpressionBindings,
  ExpressionEvaluationError,
  ExpressionInput,
  isTruthy,
} from 'src/expressions/expression';
import { AttemptRecord, StepRecord } from 'src/executions/execution.entity';
import { ExecutionLauncher } from 'src/executions/execution-launcher.service';
import { ExecutionRepository, ExecutionState } from 'src/executions/execution.repository';
import { FENCED, FlowWalker, ON_ERROR_KEY, Stop } from 'src/executions/flow-walker';
import { IterationRepository, ItemKey } from 'src/executions/loops/iteration.repository';
import { LoopCoordinator } from 'src/executions/loops/loop-coordinator.service';
import { plainPathArray } from 'src/executions/loops/loop-items';
import { enclosingItems, loopPath, parseLoopPath } from 'src/executions/loops/loop-path';
import { CompiledFlow, CompiledLoop, CompiledStep } from 'src/flows/flow-compiler';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { RunStepJob, itemJobId, jobSeq } from 'src/queue/queue.constants';
import { maskSecrets } from 'src/secrets/secret-cipher';
import { maskErrorText, maskStepRecord } from 'src/secrets/secret-mask';
import { SecretsService } from 'src/secrets/secrets.service';

/** What an item's attempt needs from the job around it (the step runner's attempt() takes these). */
export interface ItemAttemptContext {
  ex: ExecutionState;
  flow: CompiledFlow;
  secrets: Record<string, string>;
  secretValues: string[];
}

/** One attempt of one leaf step: the step runner's, so an item's steps retry exactly as top-level ones. */
export type ItemAttempt = (
  ctx: ItemAttemptContext,
  step: CompiledStep,
  rec: StepRecord,
  input: ExpressionInput,
) => Promise<'continue' | Stop>;

/** The expression input inside a loop body (API.md section 3, "Control flow"). */
type LoopInput = ExpressionInput & {
  item: unknown;
  index: number;
  loops: Record<string, { item: unknown; index: number }>;
};

const EXECUTION_ACTIVE = ['queued', 'running', 'waiting'];

/**
 * What an item's walk sees besides its own records, fixed while its loop runs (the lane around the
 * loop waits for it): the execution (its event, the main lane's outputs) and, for a loop inside
 * another loop's item, each enclosing item, outermost first.
 */
interface LoopContext {
  ex: ExecutionState;
  around: Array<{ stepId: string; idx: number; item: unknown; steps: Record<string, StepRecord> }>;
}

/** Executions whose loops this process runs items of, kept for their event and earlier outputs. */
const CONTEXTS_KEPT = 64;

/** The items a forEach's `items` gave: an array as it is, nothing as none, any other value as one item. */
export function toItems(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** The output of the last of the body's steps that ran (null when none ran, or it failed). */
function lastOutput(body: CompiledStep[], steps: Record<string, StepRecord>): unknown {
  for (let i = body.length - 1; i >= 0; i--) {
    const rec = steps[body[i].def.id];
    if (!rec || rec.status === 'skipped' || rec.status === 'pending' || rec.status === 'cancelled') continue;
    return rec.status === 'succeeded' ? (rec.output ?? null) : null;
  }
  return null;
}

/**
 * The step runner's side of forEach: enter() evaluates a loop's `if` and `items` when the main lane
 * reaches it, start() hands the loop to the LoopCoordinator, and runItem() runs one job of one item —
 * the loop body walked with the item's own step records (one row in `iterations`), outbound steps
 * one per job, exactly like top-level ones. A hand-off writes the item's row only.
 */
@Injectable()
export class LoopRunner {
  /**
   * An execution's event and main-lane outputs by execution and loop: they do not change while the
   * loop runs (the main lane waits for it), and reading them per item would parse the whole event (which often holds
   * the items) once per item.
   */
  private readonly contexts = new Map<string, Promise<LoopContext | null>>();

  constructor(
    private readonly executions: ExecutionRepository,
    private readonly iterations: IterationRepository,
    private readonly coordinator: LoopCoordinator,
    private readonly flows: FlowCacheService,
    private readonly secrets: SecretsService,
    private readonly launcher: ExecutionLauncher,
  ) {}

  /**
   * The main lane reached a forEach: resume it if it ran before (a retry), else evaluate its `if`
   * and `items` as one recorded attempt. Zero items: the step succeeds with `[]` at once; more than
   * `maxItems`: it fails before any item runs.
   */
  async enter(
    executionId: string,
    step: CompiledStep,
    rec: StepRecord,
    input: ExpressionInput,
    bindings: ExpressionBindings,
    secretValues: string[],
    path = step.def.id,
  ): Promise<'continue' | Stop> {
    const id = step.def.id;
    const loop = step.loop as CompiledLoop;
    if (await this.coordinator.exists(executionId, path)) {
      rec.status = 'running';
      return { kind: 'loop', stepId: id, items: null };
    }
    const started = Date.now();
    const attempt = (error?: string): AttemptRecord => ({
      n: rec.attempts.length + 1,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      ...(error !== undefined ? { error } : {}),
    });
    let message: string;
    try {
      if (step.if && !isTruthy(await step.if.evaluate(input, bindings))) {
        rec.status = 'skipped';
        rec.attempts.push(attempt());
        return 'continue';
      }
      const items = toItems(
        plainPathArray(loop.items.source, input) ?? (await loop.items.evaluate(input, bindings)),
      );
      if (items.length === 0) {
        rec.status = 'succeeded';
        rec.output = [];
        rec.attempts.push(attempt());
        input.steps[id] = [];
        return 'continue';
      }
      if (items.length <= loop.maxItems) {
        rec.status = 'running';
        rec.attempts.push(attempt());
        // Items are stored like outputs: with secret values masked.
        return { kind: 'loop', stepId: id, items: maskSecrets(items, secretValues) };
      }
      message = `items gave ${items.length} items, more than maxItems (${loop.maxItems}); no item ran`;
    } catch (e) {
      message = e instanceof ExpressionEvaluationError ? e.message : `internal error: ${String(e)}`;
    }
    rec.status = 'failed';
    rec.error = message;
    rec.attempts.push(attempt(message));
    if (step.def.continueOnError) return 'continue';
    return { kind: 'failed', error: `step ${id} failed: ${message}`, stepId: id, message };
  }

  /** The main lane stops at the loop: hand it to the coordinator (fenced by this job). */
  async start(
    ex: ExecutionState,
    jobId: string,
    flow: CompiledFlow,
    steps: Record<string, StepRecord>,
    stop: Extract<Stop, { kind: 'loop' }>,
  ): Promise<void> {
    const loop = flow.byId.get(stop.stepId)?.loop;
    if (!loop) throw new Error(`step ${stop.stepId} is not a forEach of flow ${flow.id}`);
    await this.coordinator.start(
      { executionId: ex.id, fence: jobId, nextSeq: jobSeq(jobId) + 1, steps },
      { id: stop.stepId, def: loop },
      stop.items,
    );
  }

  private context(key: ItemKey): Promise<LoopContext | null> {
    const id = `${key.executionId}/${key.loop}`;
    let hit = this.contexts.get(id);
    if (hit) {
      // Most recently used last, so the oldest goes first.
      this.contexts.delete(id);
      this.contexts.set(id, hit);
      return hit;
    }
    hit = this.loadContext(key);
    hit.catch(() => this.contexts.delete(id));
    this.contexts.set(id, hit);
    if (this.contexts.size > CONTEXTS_KEPT) this.contexts.delete(this.contexts.keys().next().value as string);
    return hit;
  }

  private async loadContext(key: ItemKey): Promise<LoopContext | null> {
    const ex = await this.executions.load(key.executionId);
    if (!ex) return null;
    const around: LoopContext['around'] = [];
    for (const { loop, idx } of enclosingItems(key.loop)) {
      const it = await this.iterations.load({ executionId: key.executionId, loop, idx });
      if (!it) return null;
      around.push({ stepId: parseLoopPath(loop).stepId, idx, item: it.item, steps: it.steps });
    }
    return { ex, around };
  }

  /** One job of one item: fenced by the item's job id, as a main-lane job is by the execution's. */
  async runItem(job: RunStepJob, jobId: string, attempt: ItemAttempt): Promise<void> {
    const key: ItemKey = { executionId: job.executionId, loop: job.item!.loop, idx: job.item!.idx };
    const it = await this.iterations.load(key);
    if (!it || it.jobId !== jobId || !['running', 'waiting'].includes(it.status)) return;
    if (!EXECUTION_ACTIVE.includes(it.executionStatus)) {
      // Cancelled while this item still had a job: finish the cancel's second half.
      this.contexts.delete(`${key.executionId}/${key.loop}`);
      await this.coordinator.cancel(key.executionId);
      return;
    }
    const context = await this.context(key);
    if (!context) return;
    const { ex, around } = context;
    const flow = await this.flows.get(ex.flowId, ex.flowVersion);
    const loopId = parseLoopPath(key.loop).stepId;
    const loop = flow.byId.get(loopId)?.loop;
    if (!loop) throw new Error(`step ${loopId} is not a forEach of flow ${flow.id}`);
    const secrets = await this.secrets.values(it.secretsVersion);
    const secretValues = Object.values(secrets);
    const input: LoopInput = {
      event: ex.event,
      steps: {},
      flow: { id: flow.id, name: flow.name, version: flow.version },
      execution: { id: ex.id },
      item: it.item,
      index: key.idx,
      loops: {},
    };
    // What the main lane had when it reached the loop, then what each enclosing item had when it
    // reached the loop inside it; a step of this body is never among them.
    for (const records of [ex.steps, ...around.map((a) => a.steps)]) {
      for (const [id, rec] of Object.entries(records)) {
        if (rec.status === 'succeeded' && flow.byId.has(id)) input.steps[id] = rec.output ?? null;
      }
    }
    for (const a of around) input.loops[a.stepId] = { item: a.item, index: a.idx };
    input.loops[loopId] = { item: it.item, index: key.idx };
    const phase = ex.steps[ON_ERROR_KEY];
    if (phase) input.error = phase.output as { stepId: string; message: string };
    const steps: Record<string, StepRecord> = structuredClone(it.steps);
    const ctx: ItemAttemptContext = { ex, flow, secrets, secretValues };
    const body: CompiledFlow = { ...flow, steps: loop.steps, onError: [] };
    const walker = new FlowWalker(
      body,
      steps,
      input,
      { secrets },
      {
        attempt: (step, rec, into) => attempt(ctx, step, rec, into),
        // The item shows as running from its claim on: no extra write while it talks to the world.
        markRunning: () => ({ settle: async () => true }),
        store: (id, rec) => (steps[id] = maskStepRecord(rec, secretValues)),
        enterLoop: (step, rec, into) =>
          this.enter(ex.id, step, rec, into, { secrets }, secretValues, loopPath(step.def.id, key)),
      },
    );
    const stop = await walker.run();
    if (stop === FENCED) return;
    switch (stop.kind) {
      case 'handoff': {
        const next = itemJobId(ex.id, key.loop, key.idx, stop.stepId, jobSeq(jobId) + 1);
        const saved = await this.iterations.saveProgress(key, jobId, {
          status: stop.waiting ? 'waiting' : 'running',
          steps,
          jobId: next,
          runAt: new Date(Date.now() + stop.delayMs),
        });
        // Committed first: a lost add is re-added by the reconciler from the item's row.
        if (saved) {
          this.launcher.enqueue(
            { v: 1, executionId: ex.id, stepId: stop.stepId, item: job.item },
            next,
            stop.delayMs,
          );
        }
        return;
      }
      case 'done':
        await this.coordinator.finish({
          key,
          fence: jobId,
          status: 'succeeded',
          steps,
          output: lastOutput(loop.steps, steps),
          error: null,
        });
        return;
      case 'failed':
        await this.coordinator.finish({
          key,
          fence: jobId,
          status: 'failed',
          steps,
          output: null,
          error: maskErrorText(stop.error, secretValues),
        });
        return;
      case 'loop': {
        // A loop inside this item: the item waits, with no job, until that loop's end hands it one.
        const inner = flow.byId.get(stop.stepId)?.loop;
        if (!inner) throw new Error(`step ${stop.stepId} is not a forEach of flow ${flow.id}`);
        await this.coordinator.start(
          {
            executionId: ex.id,
            fence: jobId,
            nextSeq: jobSeq(jobId) + 1,
            steps,
            item: { loop: key.loop, idx: key.idx },
          },
          { id: loopPath(stop.stepId, key), def: inner },
          stop.items,
        );
        return;
      }
    }
  }
}
