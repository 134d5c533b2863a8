import { MASK, MIN_MASKED_LENGTH } from 'src/secrets/secret-cipher';

/** More distinct values than any real deployment holds; past it the oldest are forgotten. */
const MAX_KNOWN = 10_000;

/**
 * The secret values this thread has seen (current ones and ones replaced or deleted since it started),
 * for the logger's last line of defence (src/config/logger.ts). Module-level on purpose: pino's hook
 * runs outside Nest's injector, and each worker thread has a module instance of its own, which its
 * own SecretsService keeps up to date.
 */
const known = new Set<string>();
/** What a log line may contain: each value as is and as it reads inside a JSON string, longest first. */
let needles: string[] = [];

export function rememberSecrets(values: Iterable<string>): void {
  let added = false;
  for (const v of values) {
    if (v.length < MIN_MASKED_LENGTH || known.has(v)) continue;
    if (known.size >= MAX_KNOWN) known.delete(known.values().next().value as string);
    known.add(v);
    added = true;
  }
  if (!added) return;
  const forms = new Set<string>();
  for (const v of known) {
    forms.add(v);
    forms.add(JSON.stringify(v).slice(1, -1));
  }
  needles = [...forms].sort((a, b) => b.length - a.length);
}

/** Masks every known secret value in one log line; a no-op (one length check) while none is known. */
export function maskKnownSecrets(line: string): string {
  if (needles.length === 0) return line;
  let out = line;
  for (const n of needles) if (out.includes(n)) out = out.split(n).join(MASK);
  return out;
}

/** For tests: forget every value. */
export function forgetKnownSecrets(): void {
  known.clear();
  needles = [];
}
