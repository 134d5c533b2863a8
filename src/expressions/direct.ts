import { unstorableReason } from 'src/common/jsonb';

/**
 * Plain-JavaScript evaluation of the JSONata expressions most flows are made of: field paths
 * (`event.body.user.name`), `$secrets.NAME`, literals, `&` between strings, object constructors with literal keys, `$count(path)` and
 * `=` / `!=` between plain values. JSONata's own evaluator is asynchronous and builds frames and
 * sequences at every node: ~40 µs and ~45 KB of garbage for the benchmark's transform, where this
 * takes ~1 µs. Whatever lies outside the subset is compiled to null, and any value the subset does
 * not model the same way (an array on a path, a key that is not an own property) makes evaluation
 * answer FALLBACK, so the caller runs JSONata instead. src/expressions/direct.spec.ts holds this to
 * JSONata's answers on generated inputs.
 */

/** The part of JSONata's AST this module reads. */
export interface AstNode {
  type: string;
  value?: unknown;
  steps?: AstNode[];
  lhs?: unknown;
  rhs?: AstNode;
  arguments?: AstNode[];
  procedure?: AstNode;
  stages?: unknown[];
  predicate?: unknown[];
  group?: unknown;
  focus?: unknown;
  index?: unknown;
  tuple?: unknown;
  keepArray?: boolean;
  keepSingletonArray?: boolean;
}

export const FALLBACK: unique symbol = Symbol('fallback to JSONata');

/**
 * Evaluates against the input (and `$secrets`), or answers FALLBACK. `undefined` is JSONata's "no
 * value". It runs on the caller's thread: every node is a constant-time step, so it cannot run away.
 */
export type DirectEvaluator = (input: unknown, secrets?: Record<string, string>) => unknown;

/** Properties that change how a node evaluates; a node carrying any of them is left to JSONata. */
const DECORATIONS = [
  'stages',
  'predicate',
  'group',
  'focus',
  'index',
  'tuple',
  'keepArray',
  'keepSingletonArray',
];

function decorated(node: AstNode): boolean {
  return DECORATIONS.some((k) => (node as unknown as Record<string, unknown>)[k] !== undefined);
}

/** Compiles `ast` when all of it is in the subset, else null. */
export function compileDirect(ast: AstNode): DirectEvaluator | null {
  if (decorated(ast)) return null;
  switch (ast.type) {
    case 'string':
    case 'number':
    case 'value': {
      const value = ast.value;
      // A literal that is not valid Unicode is JSONata's (the evaluator thread's) error to report.
      if (unstorableReason(value) !== undefined) return null;
      return () => value;
    }
    case 'path':
      return compilePath(ast);
    case 'unary':
      return ast.value === '{' ? compileObject(ast) : null;
    case 'function':
      return compileCount(ast);
    case 'binary':
      if (ast.value === '&') return compileConcat(ast);
      return ast.value === '=' || ast.value === '!=' ? compileEquality(ast) : null;
    default:
      return null;
  }
}

/** `$secrets.NAME`: a binding, not part of the input. */
function compileSecret(steps: AstNode[]): DirectEvaluator | null {
  const [variable, name] = steps;
  if (steps.length !== 2 || decorated(variable) || decorated(name)) return null;
  if (name.type !== 'name' || typeof name.value !== 'string') return null;
  const key = name.value;
  return (_input, secrets) =>
    secrets && Object.prototype.hasOwnProperty.call(secrets, key) && typeof secrets[key] === 'string'
      ? secrets[key]
      : FALLBACK;
}

/** `a.b.c`: own properties of plain objects; an array anywhere is JSONata's business (sequences). */
function compilePath(ast: AstNode, finalArrayOk = false): DirectEvaluator | null {
  const steps = ast.steps ?? [];
  if (steps[0]?.type === 'variable' && steps[0].value === 'secrets' && !finalArrayOk)
    return compileSecret(steps);
  if (
    steps.length === 0 ||
    steps.some((s) => s.type !== 'name' || decorated(s) || typeof s.value !== 'string')
  )
    return null;
  const names = steps.map((s) => s.value as string);
  return (input) => {
    let value: unknown = input;
    for (const name of names) {
      if (Array.isArray(value)) return FALLBACK;
      if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, name))
        return undefined;
      value = (value as Record<string, unknown>)[name];
    }
    if (Array.isArray(value) && !finalArrayOk) return FALLBACK;
    if (typeof value === 'function') return FALLBACK;
    return value;
  };
}

/** `{ 'k': expr, … }` with distinct literal keys; a key whose value is nothing is left out. */
function compileObject(ast: AstNode): DirectEvaluator | null {
  if (!Array.isArray(ast.lhs)) return null;
  const entries: Array<[string, DirectEvaluator]> = [];
  const seen = new Set<string>();
  for (const pair of ast.lhs as AstNode[][]) {
    const [key, valueNode] = pair;
    if (key?.type !== 'string' || typeof key.value !== 'string' || decorated(key)) return null;
    // Duplicate keys are JSONata's error (D1009); __proto__ would be a prototype write there.
    if (seen.has(key.value) || key.value === '__proto__') return null;
    if (unstorableReason(key.value) !== undefined) return null;
    seen.add(key.value);
    const value = valueNode ? compileDirect(valueNode) : null;
    if (!value) return null;
    entries.push([key.value, value]);
  }
  return (input, secrets) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of entries) {
      const v = value(input, secrets);
      if (v === FALLBACK) return FALLBACK;
      if (v !== undefined) out[key] = v;
    }
    return out;
  };
}

/** `$count(path)`: nothing counts 0, a plain value 1, an array its length. */
function compileCount(ast: AstNode): DirectEvaluator | null {
  const proc = ast.procedure;
  const args = ast.arguments ?? [];
  if (proc?.type !== 'variable' || proc.value !== 'count' || decorated(proc) || args.length !== 1)
    return null;
  if (args[0].type !== 'path' || decorated(args[0])) return null;
  const path = compilePath(args[0], true);
  if (!path) return null;
  return (input) => {
    const v = path(input);
    if (v === FALLBACK) return FALLBACK;
    if (v === undefined) return 0;
    return Array.isArray(v) ? v.length : 1;
  };
}

/** `a & b` between strings (nothing is ''); numbers and the rest have JSONata's $string rules. */
function compileConcat(ast: AstNode): DirectEvaluator | null {
  const lhs = ast.lhs ? compileDirect(ast.lhs as AstNode) : null;
  const rhs = ast.rhs ? compileDirect(ast.rhs) : null;
  if (!lhs || !rhs) return null;
  const text = (v: unknown): string | typeof FALLBACK =>
    v === undefined ? '' : typeof v === 'string' ? v : FALLBACK;
  return (input, secrets) => {
    const a = lhs(input, secrets);
    const b = rhs(input, secrets);
    if (a === FALLBACK || b === FALLBACK) return FALLBACK;
    const l = text(a);
    const r = text(b);
    return l === FALLBACK || r === FALLBACK ? FALLBACK : l + r;
  };
}

/** `a = b`, `a != b` between strings, numbers, booleans and null; false when either side is nothing. */
function compileEquality(ast: AstNode): DirectEvaluator | null {
  const lhs = ast.lhs ? compileDirect(ast.lhs as AstNode) : null;
  const rhs = ast.rhs ? compileDirect(ast.rhs) : null;
  if (!lhs || !rhs) return null;
  const negate = ast.value === '!=';
  const plain = (v: unknown): boolean => v === null || ['string', 'number', 'boolean'].includes(typeof v);
  return (input, secrets) => {
    const a = lhs(input, secrets);
    const b = rhs(input, secrets);
    if (a === FALLBACK || b === FALLBACK) return FALLBACK;
    if (a === undefined || b === undefined) return false;
    if (!plain(a) || !plain(b)) return FALLBACK;
    return negate ? a !== b : a === b;
  };
}
