import jsonata from 'jsonata';
import { AstNode, compileDirect, DirectEvaluator, FALLBACK } from 'src/expressions/direct';
import { EvaluatorPool } from 'src/expressions/evaluator-pool';
import {
  EVALUATION_MAX_DEPTH,
  EVALUATION_MAX_SEQUENCE,
  EVALUATION_TIMEOUT_MS,
  ExpressionEvaluationError,
} from 'src/expressions/expression-limits';

export {
  EVALUATION_MAX_DEPTH,
  EVALUATION_MAX_SEQUENCE,
  EVALUATION_TIMEOUT_MS,
  ExpressionEvaluationError,
} from 'src/expressions/expression-limits';

/** The one input every expression of a flow sees (API.md section 3). */
export interface ExpressionInput {
  event: unknown;
  steps: Record<string, unknown>;
  flow: { id: string; name: string; version: number };
  execution: { id: string | null };
  /** In a flow's `onError` steps: the step that failed and why. */
  error?: { stepId: string; message: string };
}

export interface ExpressionBindings {
  secrets: Record<string, string>;
}

/** A syntax error, with the position (1-based character index) JSONata reports. */
export class ExpressionSyntaxError extends Error {
  constructor(
    readonly detail: string,
    readonly position: number | undefined,
  ) {
    super(position === undefined ? detail : `${detail} (at position ${position})`);
  }
}

export interface CompiledExpression {
  readonly source: string;
  evaluate(input: ExpressionInput, bindings: ExpressionBindings): Promise<unknown>;
}

interface JsonataError {
  message?: string;
  position?: number;
}

interface Parsed {
  /** Plain-JavaScript evaluation when the expression lies in the subset of src/expressions/direct.ts. */
  direct: DirectEvaluator | null;
  /** Every `$secrets.NAME` the expression names: each must be set when it is evaluated. */
  secrets: string[];
}

/** The evaluator threads (started on the first expression outside the direct subset). */
const evaluators = new EvaluatorPool();

/** Stops the evaluator threads (app shutdown; tests). They are unref'd, so a process exits without it. */
export function closeExpressionEvaluators(): Promise<void> {
  return evaluators.close();
}

/** `$secrets.NAME` paths anywhere in the AST (lambdas, predicates, arguments included). */
function secretNames(ast: AstNode): string[] {
  const names = new Set<string>();
  const seen = new Set<object>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const n = node as AstNode;
    const [first, second] = n.type === 'path' ? (n.steps ?? []) : [];
    if (first?.type === 'variable' && first.value === 'secrets' && second?.type === 'name')
      names.add(String(second.value));
    for (const child of Object.values(node)) visit(child);
  };
  visit(ast);
  return [...names];
}

const cache = new Map<string, Parsed>();
const CACHE_LIMIT = 5000;

function parse(source: string): Parsed {
  const hit = cache.get(source);
  if (hit) return hit;
  let expr: jsonata.Expression;
  try {
    // Parsed here for syntax errors and the AST; evaluated by the evaluator threads.
    expr = jsonata(source, {
      timeout: EVALUATION_TIMEOUT_MS,
      stack: EVALUATION_MAX_DEPTH,
      sequence: EVALUATION_MAX_SEQUENCE,
    });
  } catch (e) {
    const err = e as JsonataError;
    throw new ExpressionSyntaxError(err.message ?? String(e), err.position);
  }
  const ast = expr.ast() as AstNode;
  const parsed = { direct: compileDirect(ast), secrets: secretNames(ast) };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(source, parsed);
  return parsed;
}

/**
 * Compiles a JSONata expression (cached by its text). The common subset (src/expressions/direct.ts)
 * is evaluated right here; everything else in the evaluator threads (src/expressions/evaluator-pool.ts),
 * bounded in time, depth, sequence length and memory, so a runaway expression fails its step
 * without holding anyone else. The value is plain JSON that PostgreSQL can store: no JSONata
 * sequence flags, no functions, no lone surrogates (that is an evaluation error).
 */
export function compileExpression(source: string): CompiledExpression {
  if (source.trim() === '') throw new ExpressionSyntaxError('expression is empty', undefined);
  const { direct, secrets } = parse(source);
  return {
    source,
    async evaluate(input, bindings) {
      for (const name of secrets) {
        if (!Object.prototype.hasOwnProperty.call(bindings.secrets, name))
          throw new ExpressionEvaluationError(`secret ${name} is not set`);
      }
      if (direct) {
        const value = direct(input, bindings.secrets);
        if (value !== FALLBACK) return value;
      }
      // One flow's slow expressions wait behind each other only (fair turns per flow).
      return evaluators.evaluate(input.flow?.id ?? '', source, input, bindings.secrets);
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
