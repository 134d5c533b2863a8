import type jsonata from 'jsonata';
import type { MessagePort } from 'node:worker_threads';

export interface EvaluationRequest {
  id: number;
  source: string;
  input: unknown;
  secrets: Record<string, string>;
}

export type EvaluatorMessage =
  /** `tid`: the thread's Linux thread id (0 elsewhere), for the pool to lower its priority. */
  | { type: 'ready'; tid: number }
  /** `json` is the value as JSON text; absent when the expression gave nothing. */
  | { type: 'done'; id: number; json?: string }
  | { type: 'failed'; id: number; message: string };

export interface EvaluatorLimits {
  timeoutMs: number;
  depth: number;
  sequence: number;
  timeoutMessage: string;
}

/**
 * The body of an evaluator thread (src/expressions/evaluator-pool.ts starts it from this function's
 * text): JSONata runs there, where a runaway regex or built-in can be stopped by terminating the
 * thread. It is self-contained on purpose (it may use nothing imported), so the thread needs no
 * TypeScript loader under ts-node and no file path in dist/, and starts as fast as jsonata loads.
 *
 * A value goes back as JSON text: JSONata's sequences become arrays (their hidden flags would make
 * a value read differently after a reload from PostgreSQL), and functions are dropped (a lambda
 * holds its whole environment, a cycle). The caller checks the text for what jsonb refuses.
 */
export function evaluatorThread(
  compile: typeof jsonata,
  port: MessagePort,
  limits: EvaluatorLimits,
  tid: number,
): void {
  const cache = new Map<string, jsonata.Expression>();
  const compiled = (source: string): jsonata.Expression => {
    let expr = cache.get(source);
    if (!expr) {
      expr = compile(source, { timeout: limits.timeoutMs, stack: limits.depth, sequence: limits.sequence });
      if (cache.size >= 1000) cache.delete(cache.keys().next().value as string);
      cache.set(source, expr);
    }
    return expr;
  };
  const dropFunctions = (_key: string, value: unknown): unknown => {
    if (typeof value === 'function') return undefined;
    if (value !== null && typeof value === 'object') {
      const v = value as { _jsonata_lambda?: unknown; _jsonata_function?: unknown };
      if (v._jsonata_lambda || v._jsonata_function) return undefined;
    }
    return value;
  };
  const failure = (e: unknown): string => {
    const err = (e ?? {}) as { message?: string; position?: number; code?: string };
    if (err.code === 'D1012') return limits.timeoutMessage;
    const where = err.position === undefined ? '' : ` (at position ${err.position})`;
    return `${err.message ?? String(e)}${where}`;
  };
  const evaluate = async (req: EvaluationRequest): Promise<EvaluatorMessage> => {
    try {
      const value: unknown = await compiled(req.source).evaluate(req.input, { secrets: req.secrets });
      const json =
        value === undefined ? undefined : (JSON.stringify(value, dropFunctions) as string | undefined);
      return { type: 'done', id: req.id, json };
    } catch (e) {
      return { type: 'failed', id: req.id, message: failure(e) };
    }
  };
  port.on('message', (req: EvaluationRequest) => {
    void evaluate(req).then((m) => port.postMessage(m));
  });
  port.postMessage({ type: 'ready', tid } satisfies EvaluatorMessage);
}
