import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { unstorableReason } from 'src/common/jsonb';
import { ExpressionEvaluationError, ExpressionInput, isTruthy } from 'src/expressions/expression';
import { AttemptRecord, ExecutionStatus, StepRecord } from 'src/executions/execution.entity';
import { ExecutionLauncher } from 'src/executions/execution-launcher.service';
import { ExecutionRepository, ExecutionState } from 'src/executions/execution.repository';
import { backoffDelay, resolvePolicy } from 'src/executions/retry-policy';
import { CompiledFlow, CompiledStep } from 'src/flows/flow-compiler';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { FENCED, FlowWalker, Stop } from 'src/executions/flow-walker';
import { LoopRunner } from 'src/executions/loops/loop-runner.service';
import { ExecutionOutcomes } from 'src/executions/execution-outcomes.service';
import { MetricsService } from 'src/metrics/metrics.service';
import { RunStepJob, jobSeq, stepJobId } from 'src/queue/queue.constants';
import { maskSecrets } from 'src/secrets/secret-cipher';
import { maskErrorText, maskStepRecord } from 'src/secrets/secret-mask';
import { SecretsService } from 'src/secrets/secrets.service';
import { STEP_SERVICES, StepFailure, StepOutcome, StepServices } from 'src/steps/step-handler';
import {
  DestinationLimiter,
  DestinationUnavailableError,
  GateDecision,
  GatePass,
} from 'src/destinations/destination-limiter.service';

/**
 * A write error that will repeat on every retry because of the row's own data (a data exception or a
 * program limit in PostgreSQL, or a value JSON.stringify cannot write), as opposed to a lost connection.
 */
function isUnstorable(e: unknown): boolean {
  if (e instanceof TypeError || e instanceof RangeError) return true;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|54)/.test(code);
}

/** The step records with outputs, requests and answers left out: what is still storable of a poison row. */
function withoutPayloads(steps: Record<string, StepRecord>): Record<string, StepRecord> {
  const out: Record<string, StepRecord> = {};
  for (const [id, r] of Object.entries(steps)) {
    out[id] = {
      status:
        r.status === 'succeeded' || r.status === 'failed' || r.status === 'skipped' ? r.status : 'cancelled',
      ...(r.error !== undefined ? { error: String(r.error).slice(0, 2000) } : {}),
      attempts: r.attempts.map((a) => ({
        n: a.n,
        startedAt: a.startedAt,
        finishedAt: a.finishedAt,
        durationMs: a.durationMs,
        ...(a.error !== undefined ? { error: String(a.error).slice(0, 2000) } : {}),
      })),
    };
  }
  return out;
}

/** A step still busy after this long is shown as `running` (API answers, cancel). */
const RUNNING_VISIBLE_AFTER_MS = 50;

interface RunningMark {
  settle(): Promise<boolean>;
}

/**
 * Runs an execution from its first unfinished step. Pure steps run inline; the first step that acts
 * on the world runs one attempt here; the next one (or a retry, or a delay) is handed to a new job.
 * Progress is committed before the next job is enqueued; the reconciler covers a crash in between.
 */
@Injectable()
export class StepRunner {
  private readonly logger = new Logger(StepRunner.name);

  constructor(
    private readonly executions: ExecutionRepository,
    private readonly flows: FlowCacheService,
    private readonly secrets: SecretsService,
    private readonly outcomes: ExecutionOutcomes,
    private readonly metrics: MetricsService,
    private readonly launcher: ExecutionLauncher,
    @Inject(STEP_SERVICES) private readonly services: StepServices,
    private readonly loops: LoopRunner,
    private readonly destinations: DestinationLimiter,
  ) {}

  async run(job: RunStepJob, jobId: string): Promise<void> {
    // A job of one item of a forEach: the same attempts, on the item's own records.
    if (job.item) {
      return this.loops.runItem(job, jobId, (c, step, rec, into) =>
        this.attempt(c.ex, c.flow, step, rec, into, c.secrets, c.secretValues),
      );
    }
    const ex = await this.executions.load(job.executionId);
    // Fencing: a job that is not the execution's current one (cancelled, replaced, re-added) does nothing.
    if (!ex || ex.jobId !== jobId || !['queued', 'running', 'waiting'].includes(ex.status)) return;
    const flow = await this.flows.get(ex.flowId, ex.flowVersion);
    // At least the version this load saw: a secret written before this job started is the one used.
    const secrets = await this.secrets.values(ex.secretsVersion);
    const secretValues = Object.values(secrets);
    const steps: Record<string, StepRecord> = structuredClone(ex.steps);
    const input: ExpressionInput = {
      event: ex.event,
      steps: {},
      flow: { id: flow.id, name: flow.name, version: flow.version },
      execution: { id: ex.id },
    };
    const walker = new FlowWalker(
      flow,
      steps,
      input,
      { secrets },
      {
        attempt: (step, rec, into) => this.attempt(ex, flow, step, rec, into, secrets, secretValues),
        markRunning: () => this.markRunningIfSlow(ex.id, jobId, steps),
        // Stored masked, handed on real: later steps of this job see the value, a reload (the next job,
        // a retry, the API) sees *** in its place (secret-mask.ts).
        store: (id, rec) => (steps[id] = maskStepRecord(rec, secretValues)),
        enterLoop: (step, rec, into) => this.loops.enter(ex.id, step, rec, into, { secrets }, secretValues),
      },
    );
    let stop = await walker.run();
    if (stop === FENCED) return;
    if (stop.kind === 'loop') return this.loops.start(ex, jobId, flow, steps, stop);
    if (stop.kind === 'failed') stop = { ...stop, error: maskErrorText(stop.error, secretValues) };
    await this.commit(ex, jobId, steps, stop);
  }

  /**
   * Shows the execution as running while a step talks to the world — but only once the attempt
   * has taken RUNNING_VISIBLE_AFTER_MS, so a fast delivery costs no extra write. settle() waits for
   * the write if one was made, and says false when the execution was cancelled meanwhile.
   */
  private markRunningIfSlow(id: string, jobId: string, steps: Record<string, StepRecord>): RunningMark {
    let write: Promise<boolean> | undefined;
    const timer = setTimeout(() => {
      write = this.executions.saveProgress(id, jobId, {
        status: 'running',
        steps: structuredClone(steps),
        jobId,
        runAt: null,
        finished: false,
      });
      // Handled here too: the write may fail (PostgreSQL away) before settle() awaits it.
      write.catch(() => undefined);
    }, RUNNING_VISIBLE_AFTER_MS);
    return {
      settle: async () => {
        clearTimeout(timer);
        return write ? write : true;
      },
    };
  }

  /** One attempt of one step (or its `if`): updates `rec`, says whether the walk goes on. */
  private async attempt(
    ex: ExecutionState,
    flow: CompiledFlow,
    step: CompiledStep,
    rec: StepRecord,
    input: ExpressionInput,
    secrets: Record<string, string>,
    secretValues: string[],
  ): Promise<'continue' | Stop> {
    const id = step.def.id;
    const n = rec.attempts.length + 1;
    const started = Date.now();
    const bindings = { secrets };
    const finish = (extra: Partial<AttemptRecord>): AttemptRecord => {
      const finished = Date.now();
      const a: AttemptRecord = {
        n,
        startedAt: new Date(started).toISOString(),
        finishedAt: new Date(finished).toISOString(),
        durationMs: finished - started,
        ...maskSecrets(extra, secretValues),
      };
      const result = a.error === undefined ? 'succeeded' : 'failed';
      this.metrics.stepAttempt(step.def.type, result, a.durationMs / 1000);
      // One line per attempt; the error text was masked above, request and response are not logged.
      this.logger.log(
        {
          executionId: ex.id,
          flowId: flow.id,
          stepId: id,
          type: step.def.type,
          attempt: n,
          outcome: result,
          durationMs: a.durationMs,
          ...(a.error !== undefined ? { error: a.error } : {}),
        },
        'step attempt',
      );
      return a;
    };
    let outcome: StepOutcome;
    let pass: GatePass | undefined;
    try {
      if (step.if && !isTruthy(await step.if.evaluate(input, bindings))) {
        rec.status = 'skipped';
        rec.attempts.push(finish({}));
        return 'continue';
      }
      rec.deliveryId ??= `msg_${randomUUID().replace(/-/g, '')}`;
      // Held back by a destination (API.md §10): waits in line, no attempt recorded or used.
      const gate = await this.enterDestinations(ex, step, rec, input, bindings);
      if (gate.kind === 'wait') {
        Object.assign(rec, { status: 'waiting', waitingFor: gate.waitingFor, waitingSince: gate.since });
        rec.resumeAt = new Date(Date.now() + gate.delayMs).toISOString();
        return { kind: 'handoff', stepId: id, delayMs: gate.delayMs, waiting: true };
      }
      delete rec.waitingFor;
      delete rec.waitingSince;
      pass = gate.pass;
      outcome = await step.handler.run(step.compiled, step.def, {
        input,
        bindings,
        executionId: ex.id,
        flowId: flow.id,
        stepId: id,
        attempt: n,
        depth: ex.depth,
        deliveryId: rec.deliveryId,
        resumeAt: rec.resumeAt,
        services: this.services,
      });
      // A value PostgreSQL would refuse fails this step here, with the reason, instead of failing the
      // batched progress write that carries other executions' work (src/common/batcher.ts).
      const unstorable =
        outcome.kind === 'succeeded' ? unstorableReason(outcome.output, 'output') : undefined;
      if (unstorable && outcome.kind === 'succeeded') {
        throw new StepFailure(`the step's output cannot be stored: ${unstorable}`, false, {
          request: outcome.request,
          response: outcome.response,
        });
      }
    } catch (e) {
      if (e instanceof DestinationUnavailableError) throw e; // Bull tries the job again
      await pass?.leave(e instanceof StepFailure ? (e.retryable ? 'fail' : 'ok') : 'none');
      const failure =
        e instanceof StepFailure
          ? e
          : e instanceof ExpressionEvaluationError
            ? new StepFailure(e.message, false)
            : new StepFailure(`internal error: ${(e as Error).message ?? String(e)}`, false);
      if (!(e instanceof StepFailure) && !(e instanceof ExpressionEvaluationError)) {
        this.logger.error({ err: e, executionId: ex.id, stepId: id }, 'step threw an unexpected error');
      }
      rec.attempts.push(
        finish({
          request: failure.detail.request,
          response: failure.detail.response,
          error: failure.message,
        }),
      );
      const policy = resolvePolicy(step.def.retry, step.handler.defaultAttempts);
      if (failure.retryable && n < policy.attempts) {
        const delayMs = backoffDelay(policy, n, {
          retryAfterMs: failure.detail.retryAfterMs,
          struggling: /^HTTP 429|timed out/.test(failure.message),
        });
        rec.status = 'waiting';
        rec.resumeAt = new Date(Date.now() + delayMs).toISOString();
        return { kind: 'handoff', stepId: id, delayMs, waiting: true };
      }
      rec.status = 'failed';
      rec.error = failure.message;
      delete rec.resumeAt;
      if (step.def.continueOnError) return 'continue';
      return {
        kind: 'failed',
        error: `step ${id} failed: ${failure.message}`,
        stepId: id,
        message: failure.message,
      };
    }
    await pass?.leave(outcome.kind === 'succeeded' ? 'ok' : 'none');
    if (outcome.kind === 'wait') {
      rec.status = 'waiting';
      rec.resumeAt = outcome.until.toISOString();
      return {
        kind: 'handoff',
        stepId: id,
        delayMs: Math.max(0, outcome.until.getTime() - Date.now()),
        waiting: true,
      };
    }
    rec.status = 'succeeded';
    rec.output = outcome.output;
    delete rec.error;
    delete rec.resumeAt;
    rec.attempts.push(finish({ request: outcome.request, response: outcome.response }));
    input.steps[id] = outcome.output ?? null;
    return 'continue';
  }

  /** Asks the destinations that cover this attempt's host (and Slack's pacing) whether it may go now. */
  private enterDestinations(
    ex: ExecutionState,
    step: CompiledStep,
    rec: StepRecord,
    input: ExpressionInput,
    bindings: { secrets: Record<string, string> },
  ): Promise<GateDecision> | GateDecision {
    const handler = step.handler;
    if (!handler.target || (!this.destinations.active && !handler.paced)) return { kind: 'go' };
    return handler.target(step.compiled, step.def, { input, bindings, services: this.services }).then(
      (target) =>
        this.destinations.enter(target, {
          member: `${ex.id}:${rec.deliveryId}`,
          jobId: stepJobId(ex.id, step.def.id, jobSeq(ex.jobId) + 1),
          since: rec.waitingSince,
          leaseTtlMs: (step.def.timeoutMs ?? 30_000) + 15_000,
        }),
      // A target that does not render is the attempt's own failure to report.
      (): GateDecision => ({ kind: 'go' }),
    );
  }

  private async commit(
    ex: ExecutionState,
    jobId: string,
    steps: Record<string, StepRecord>,
    stop: Exclude<Stop, { kind: 'loop' }>,
  ): Promise<void> {
    let status: ExecutionStatus;
    let nextJob: string | null = null;
    let runAt: Date | null = null;
    switch (stop.kind) {
      case 'done':
        status = 'succeeded';
        break;
      case 'failed':
        status = 'failed';
        break;
      case 'handoff':
        status = stop.waiting ? 'waiting' : 'running';
        nextJob = stepJobId(ex.id, stop.stepId, jobSeq(jobId) + 1);
        runAt = new Date(Date.now() + stop.delayMs);
        break;
    }
    let finished = stop.kind !== 'handoff';
    let saved: boolean;
    try {
      saved = await this.executions.saveProgress(ex.id, jobId, {
        status,
        steps,
        error: stop.kind === 'failed' ? stop.error : null,
        jobId: nextJob,
        runAt,
        finished,
      });
    } catch (e) {
      // PostgreSQL refused this execution's own row (its batch was retried member by member, so the
      // error is this row's): end it failed with the reason rather than retry it forever.
      if (!isUnstorable(e)) throw e;
      const error = `progress could not be stored: ${(e as Error).message}`;
      this.logger.warn({ executionId: ex.id, error }, 'execution failed: progress could not be stored');
      saved = await this.executions.saveProgress(ex.id, jobId, {
        status: 'failed',
        steps: withoutPayloads(steps),
        error,
        jobId: null,
        runAt: null,
        finished: true,
      });
      status = 'failed';
      nextJob = null;
      finished = true;
    }
    if (!saved) return;
    if (finished) {
      this.metrics.executionFinished(status);
      this.outcomes.finished(ex, status);
      // Its concurrency slot is free: the next execution in its line starts.
      if (ex.concurrencyKey) this.launcher.admit(ex.concurrencyKey);
      return;
    }
    if (nextJob && stop.kind === 'handoff') {
      // Committed first: if this add is lost, the reconciler adds it from PostgreSQL.
      this.launcher.enqueue({ v: 1, executionId: ex.id, stepId: stop.stepId }, nextJob, stop.delayMs);
    }
  }
}
