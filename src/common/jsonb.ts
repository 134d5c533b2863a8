/**
 * JSON text for a jsonb parameter. PostgreSQL's jsonb cannot hold the NUL character (\u0000), which
 * arrives in hostile or binary-ish payloads; it is stored as U+FFFD instead of failing the write.
 */
export function jsonb(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.includes('\\u0000') ? text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : text;
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
