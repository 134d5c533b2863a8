import type { JobOptions } from 'bull';

/** The one queue: every job runs (part of) an execution, starting at one step. */
export const STEPS_QUEUE = 'steps';
export const RUN_STEP_JOB = 'run';

/** Closes a trigger `batch` group by time (src/executions/batching), `windowMs` after its first event. */
export const CLOSE_BATCH_JOB = 'close-batch';

export interface CloseBatchJob {
  v: 1;
  executionId: string;
}

/** One close job per group: a second add (a re-add, a retried accept) dedupes in Bull. */
export function closeBatchJobId(executionId: string): string {
  return `${executionId}:batch`;
}

/** Job payloads carry ids only; the processor reloads state from PostgreSQL. */
export interface RunStepJob {
  v: 1;
  executionId: string;
  stepId: string;
  /** Set for a job of one item of a forEach (src/executions/loops): which loop, which item. */
  item?: { loop: string; idx: number };
}

/** `executionId:stepId:seq` — unique per hand-off, so a re-add by the reconciler dedupes in Bull. */
export function stepJobId(executionId: string, stepId: string, seq: number): string {
  return `${executionId}:${stepId}:${seq}`;
}

/** `executionId:loop#idx:stepId:seq` — a job of one item; jobSeq() reads it like any other. */
export function itemJobId(
  executionId: string,
  loop: string,
  idx: number,
  stepId: string,
  seq: number,
): string {
  return `${executionId}:${loop}#${idx}:${stepId}:${seq}`;
}

export function jobSeq(jobId: string | null): number {
  const seq = Number(jobId?.split(':').pop());
  return Number.isInteger(seq) ? seq : 0;
}

/** The step a job id names, in both shapes above: the field before the sequence. */
export function stepOfJobId(jobId: string): string {
  const fields = jobId.split(':');
  return fields.length >= 3 ? fields[fields.length - 2] : NO_STEP;
}

/** The step id in the job id of a flow without steps (its execution ends at its first job). */
export const NO_STEP = '_';

/** Where an execution of `flow` starts: its first step, or NO_STEP. */
export function firstStepOf(flow: { steps: ReadonlyArray<{ def: { id: string } }> }): string {
  return flow.steps[0]?.def.id ?? NO_STEP;
}

/**
 * Step retries are scheduled by the runner from PostgreSQL state (so they survive a Redis loss);
 * Bull's own attempts only cover infrastructure faults such as PostgreSQL being down mid-job.
 */
export function stepJobOptions(jobId: string, delayMs: number): JobOptions {
  return {
    jobId,
    delay: delayMs > 0 ? delayMs : undefined,
    attempts: 8,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/** The same for a batch group's close job, due `delayMs` (its window) after the group's first event. */
export function closeBatchJobOptions(executionId: string, delayMs: number): JobOptions {
  return {
    jobId: closeBatchJobId(executionId),
    delay: delayMs,
    attempts: 8,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: true,
    removeOnFail: true,
  };
}
