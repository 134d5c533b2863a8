/**
 * JSON text for a jsonb parameter. PostgreSQL's jsonb cannot hold the NUL character (\u0000) nor a
 * lone UTF-16 surrogate (which JSON.stringify writes as an escape, \ud800): both are stored as
 * U+FFFD instead of failing the write. Intake and the step runner refuse such values with a clear
 * error first (unstorableReason); this is the net under them, so that a value they did not foresee
 * can never fail a shared batch.
 */
export function jsonb(value: unknown): string {
  let text = JSON.stringify(value) ?? 'null';
  if (text.includes('\\u0000')) text = text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd');
  // JSON.stringify writes a surrogate pair as its characters, so an escaped surrogate is a lone one.
  if (text.includes('\\ud')) text = text.replace(/(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g, '$1\\ufffd');
  return text;
}

/** Deepest nesting of objects and arrays the API and trigger URLs accept (PostgreSQL's jsonb has a stack bound). */
export const MAX_JSON_DEPTH = 256;

/** True when JSON text nests deeper than `max`: a linear scan, before any parser recursion. */
export function jsonNestsDeeperThan(text: string, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 91 || c === 123) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return false;
}

/** A lone UTF-16 surrogate (half of a pair): JavaScript strings may hold one, PostgreSQL's jsonb refuses it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `value` cannot be stored as jsonb, naming the first offending path (`body.items[2].name`), or
 * undefined when it can. Checks strings and keys for lone surrogates; callers turn the answer into a
 * 400 at intake or a step failure at run time, so one bad value never reaches a shared batch.
 */
export function unstorableReason(value: unknown, path = '', depth = 0): string | undefined {
  if (typeof value === 'string') {
    return LONE_SURROGATE.test(value)
      ? `${path || 'value'} holds a lone UTF-16 surrogate (not valid Unicode)`
      : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_JSON_DEPTH) return `${path || 'value'} nests deeper than ${MAX_JSON_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const r = unstorableReason(value[i], `${path}[${i}]`, depth + 1);
      if (r) return r;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const at = path ? `${path}.${k}` : k;
    if (LONE_SURROGATE.test(k))
      return `key ${JSON.stringify(k)} at ${path || 'top level'} holds a lone UTF-16 surrogate (not valid Unicode)`;
    const r = unstorableReason(v, at, depth + 1);
    if (r) return r;
  }
  return undefined;
}

/** A quick screen of raw JSON text: could it hold a surrogate escape at all? (`\ud8..`–`\udf..`) */
export function mayHoldSurrogateEscape(text: string): boolean {
  return /\\u[dD][89abAB]|\\u[dD][c-fC-F]/.test(text);
}
