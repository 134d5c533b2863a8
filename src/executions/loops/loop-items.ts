/** `a.b.c`: names only (no `$`, quotes, functions or predicates), none a JSONata keyword. */
const PLAIN_PATH = /^\s*[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\s*$/;
const KEYWORDS = new Set(['and', 'or', 'in', 'true', 'false', 'null', 'function']);

/**
 * A forEach's `items` read right here when it is a plain path through plain objects to an array
 * (`event.body.commits`, the usual case), else undefined. JSONata answers the same array for such a
 * path (the last step's single array is returned as it is, nested arrays included), but only on an
 * evaluator thread (src/expressions/direct.ts leaves arrays to JSONata): a copy of the whole input
 * there and back, and on a process's first loop the threads' start, which put ~0.3 s before a
 * fan-out's first item (docs/performance.md, "Fan-out"). Anything else goes to the expression.
 */
export function plainPathArray(source: string, input: object): unknown[] | undefined {
  if (!PLAIN_PATH.test(source)) return undefined;
  const names = source.trim().split('.');
  if (names.some((n) => KEYWORDS.has(n))) return undefined;
  let value: unknown = input;
  for (const name of names) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(value, name)) return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return Array.isArray(value) ? value : undefined;
}
