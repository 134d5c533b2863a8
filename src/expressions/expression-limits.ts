/** Bounds of every expression evaluation (API.md section 3), shared by the caller and the evaluator threads. */
export const EVALUATION_TIMEOUT_MS = 1000;
export const EVALUATION_MAX_DEPTH = 500;
export const EVALUATION_MAX_SEQUENCE = 1_000_000;
/** Heap of one evaluator thread: `$pad("", 1e9)` and the like fail their expression, not the process. */
export const EVALUATOR_HEAP_MB = 128;

export function timeoutMessage(): string {
  return `expression took longer than ${EVALUATION_TIMEOUT_MS} ms`;
}

/** Evaluation failed at run time: a step that hits this fails with the message. */
export class ExpressionEvaluationError extends Error {}
