import { StepRecord } from 'src/executions/execution.entity';
import { CompiledFlow, CompiledStep } from 'src/flows/flow-compiler';
import { ON_ERROR_KEY } from 'src/executions/flow-walker';
import { LoopCounters } from 'src/executions/loops/iteration.repository';

/** A forEach's counters by step id (the `loops` table); a loop that never started counts nothing. */
export type LoopCountersById = ReadonlyMap<string, LoopCounters>;

const NO_ITEMS: LoopCounters = { total: 0, succeeded: 0, failed: 0, running: 0, pending: 0, cancelled: 0 };

/** A step record as the API shows it (API.md section 6): a branch's record lists the steps of the cases that ran. */
export interface StepView {
  id: string;
  type: string;
  name?: string;
  status: string;
  output?: unknown;
  error?: string;
  resumeAt?: string;
  waitingFor?: string;
  attempts: unknown[];
  steps?: StepView[];
  /** A forEach: how many items are in each state; the items are paged by `/iterations`. */
  iterations?: LoopCounters;
}

function view(
  step: CompiledStep,
  steps: Record<string, StepRecord>,
  unrun: StepRecord['status'],
  loops?: LoopCountersById,
): StepView {
  const { def } = step;
  const rec: StepRecord = steps[def.id] ?? { status: unrun, attempts: [] };
  const out: StepView = {
    id: def.id,
    type: def.type,
    ...(def.name ? { name: def.name } : {}),
    status: rec.status,
    ...(rec.output !== undefined ? { output: rec.output } : {}),
    ...(rec.error !== undefined ? { error: rec.error } : {}),
    ...(rec.resumeAt !== undefined && rec.status === 'waiting' ? { resumeAt: rec.resumeAt } : {}),
    ...(rec.waitingFor !== undefined && rec.status === 'waiting' ? { waitingFor: rec.waitingFor } : {}),
    attempts: rec.attempts,
  };
  if (step.branch) {
    const bodies = (rec.taken ?? []).map((k) =>
      k === -1 ? step.branch!.default : step.branch!.cases[k].steps,
    );
    out.steps = bodies.flat().map((s) => view(s, steps, unrun, loops));
  }
  if (step.loop) out.iterations = loops?.get(def.id) ?? NO_ITEMS;
  return out;
}

/** The execution's `steps` and, once its onError steps have started, `onError`. */
export function stepRecordsView(
  flow: CompiledFlow,
  steps: Record<string, StepRecord>,
  unrun: StepRecord['status'] = 'pending',
  loops?: LoopCountersById,
): { steps: StepView[]; onError?: StepView[] } {
  return {
    steps: flow.steps.map((s) => view(s, steps, unrun, loops)),
    ...(steps[ON_ERROR_KEY] ? { onError: flow.onError.map((s) => view(s, steps, 'pending', loops)) } : {}),
  };
}

/** The records of one item of a loop: its body's steps over the item's own step records. */
export function itemRecordsView(
  body: CompiledStep[],
  steps: Record<string, StepRecord>,
  unrun: StepRecord['status'],
  loops?: LoopCountersById,
): StepView[] {
  return body.map((s) => view(s, steps, unrun, loops));
}
