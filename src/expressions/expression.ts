import jsonata from 'jsonata';
import { compileDirect, DirectEvaluator, FALLBACK } from 'src/expressions/direct';

/** The one input every expression of a flow sees (API.md section 3). */
export interface ExpressionInput {
  event: unknown;
  steps: Record<string, unknown>;
  flow: { id: string; name: string; version: number };
  execution: { id: string | null };
}

export interface ExpressionBindings {
  secrets: Record<string, string>;
}

export const EVALUATION_TIMEOUT_MS = 1000;
export const EVALUATION_MAX_DEPTH = 500;
export const EVALUATION_MAX_SEQUENCE = 1_000_000;

/** A syntax error, with the position (1-based character index) JSONata reports. */
export class ExpressionSyntaxError extends Error {
  constructor(
    readonly detail: string,
    readonly position: number | undefined,
  ) {
    super(position === undefined ? detail : `${detail} (at position ${position})`);
  }
}

/** Evaluation failed at run time: a step that hits this fails with the message. */
export class ExpressionEvaluationError extends Error {}

export interface CompiledExpression {
  readonly source: string;
  evaluate(input: ExpressionInput, bindings: ExpressionBindings): Promise<unknown>;
}

interface JsonataError {
  message?: string;
  position?: number;
  code?: string;
}

interface Parsed {
  expr: jsonata.Expression;
  /** Plain-JavaScript evaluation when the expression lies in the subset of src/expressions/direct.ts. */
  direct: DirectEvaluator | null;
}

const cache = new Map<string, Parsed>();
const CACHE_LIMIT = 5000;

function parse(source: string): Parsed {
  const hit = cache.get(source);
  if (hit) return hit;
  let expr: jsonata.Expression;
  try {
    expr = jsonata(source, {
      timeout: EVALUATION_TIMEOUT_MS,
      stack: EVALUATION_MAX_DEPTH,
      sequence: EVALUATION_MAX_SEQUENCE,
    });
  } catch (e) {
    const err = e as JsonataError;
    throw new ExpressionSyntaxError(err.message ?? String(e), err.position);
  }
  const parsed = { expr, direct: compileDirect(expr.ast()) };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(source, parsed);
  return parsed;
}

/**
 * Compiles a JSONata expression (cached by its text). Evaluation is bounded in time, depth and
 * sequence length, so a runaway expression fails its step instead of stalling the worker.
 */
export function compileExpression(source: string): CompiledExpression {
  if (source.trim() === '') throw new ExpressionSyntaxError('expression is empty', undefined);
  const { expr, direct } = parse(source);
  return {
    source,
    async evaluate(input, bindings) {
      if (direct) {
        const value = direct(input);
        if (value !== FALLBACK) return value;
      }
      try {
        const value: unknown = await expr.evaluate(input, { secrets: bindings.secrets });
        // A function is not a value a step can keep; JSON drops the rest of JSONata's markers.
        return typeof value === 'function' ? undefined : value;
      } catch (e) {
        const err = e as JsonataError;
        const where = err.position === undefined ? '' : ` (at position ${err.position})`;
        throw new ExpressionEvaluationError(`${err.message ?? String(e)}${where}`);
      }
    },
  };
}

/** JSONata's idea of truth (`$boolean`), used for `filter` and `if`. */
export function isTruthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.some(isTruthy);
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return false;
}
