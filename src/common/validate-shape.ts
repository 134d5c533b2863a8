import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, ValidationError, validateSync } from 'class-validator';

/** class-validator errors → messages that name the full field path (`steps[1].retry.attempts ...`). */
export function flattenValidationErrors(errors: ValidationError[], prefix = ''): string[] {
  const out: string[] = [];
  for (const error of errors) {
    const path = joinPath(prefix, error.property);
    for (const [name, message] of Object.entries(error.constraints ?? {})) {
      const text = message.includes(error.property)
        ? message.replace(error.property, path)
        : `${path}: ${message}`;
      out.push(name === 'whitelistValidation' ? text + suggestion(error) : text);
    }
    if (error.children?.length) out.push(...flattenValidationErrors(error.children, path));
  }
  return out;
}

function joinPath(prefix: string, property: string): string {
  if (/^\d+$/.test(property)) return `${prefix}[${property}]`;
  return prefix ? `${prefix}.${property}` : property;
}

/** ` (did you mean timeoutMs?)` for an unknown field close to a known one of the same object, else ''. */
function suggestion(error: ValidationError): string {
  const target = error.target;
  if (!target || typeof target !== 'object') return '';
  const known = new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(target.constructor, '', true, false)
      .map((m) => m.propertyName),
  );
  const best = nearestName(error.property, [...known]);
  return best ? ` (did you mean ${best}?)` : '';
}

/**
 * The known name an unknown one most likely meant: one that starts with it or that it starts with
 * (`timeout` → `timeoutMs`, `method` → `methods`), else one within a small edit distance
 * (`heders` → `headers`); undefined when none is close.
 */
export function nearestName(unknown: string, known: string[]): string | undefined {
  const u = unknown.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const name of known) {
    const k = name.toLowerCase();
    const prefix = Math.min(u.length, k.length) >= 3 && (k.startsWith(u) || u.startsWith(k));
    const score = prefix ? 0.5 : editDistance(u, k);
    if (score < bestScore) {
      best = name;
      bestScore = score;
    }
  }
  const allowed = u.length >= 6 ? 2 : 1;
  return bestScore <= allowed ? best : undefined;
}

/** Edit distance counting a swap of two neighbours as one edit (`retyr` → `retry`); names are short. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Keys that class-transformer drops without a word (`__proto__`, `constructor`) or that name an
 * object's machinery (`prototype`). JSON.parse makes them own properties; the API refuses them
 * wherever they appear, as unknown fields, rather than lose them silently.
 */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Could JSON text hold a reserved key? (a `\u` escape can spell one) — a cheap screen before the walk. */
export function mayHoldReservedKey(text: string): boolean {
  return /__proto__|constructor|prototype|\\u/.test(text);
}

/** `property steps[0].__proto__ should not exist` for each reserved key in a parsed body. */
export function reservedKeyErrors(value: unknown, path = '', out: string[] = []): string[] {
  if (value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    value.forEach((item, i) => reservedKeyErrors(item, `${path}[${i}]`, out));
    return out;
  }
  for (const key of Object.keys(value)) {
    const at = path ? `${path}.${key}` : key;
    if (RESERVED_KEYS.has(key)) out.push(`property ${at} should not exist`);
    else reservedKeyErrors((value as Record<string, unknown>)[key], at, out);
  }
  return out;
}

/**
 * Validates a plain object against a DTO class, forbidding unknown fields; returns the instance and
 * the messages (empty when valid).
 */
export function validateShape<T extends object>(
  cls: new () => T,
  raw: unknown,
  path: string,
): { value: T; errors: string[] } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { value: raw as T, errors: [`${path} must be an object`] };
  }
  const value = plainToInstance(cls, raw);
  const errors = validateSync(value, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: false,
  });
  // A `prototype` key is also an unknown field to class-validator: one message for it.
  const messages = new Set([...reservedKeyErrors(raw, path), ...flattenValidationErrors(errors, path)]);
  return { value, errors: [...messages] };
}
