import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** SECRETS_KEY as base64 or hex → 32 bytes; anything else is a configuration error. */
export function parseSecretsKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new Error('SECRETS_KEY must be 32 bytes, given as base64 or hex');
  return key;
}

/** AES-256-GCM: iv ‖ tag ‖ ciphertext, with the secret's name as associated data so rows cannot be swapped. */
export function encryptSecret(key: Buffer, name: string, value: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(name));
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

export function decryptSecret(key: Buffer, name: string, sealed: Buffer): string {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(name));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
    'utf8',
  );
}

export const MASK = '***';
/** Shorter values would mask ordinary text everywhere; docs/guarantees.md says so. */
export const MIN_MASKED_LENGTH = 3;

/** Replaces every occurrence of a secret value in strings anywhere inside `value` by `***`. */
export function maskSecrets<T>(value: T, secrets: readonly string[]): T {
  const mask = secretMasker(secrets);
  return mask ? mapStrings(value, mask) : value;
}

/** A function masking these secrets in one string, or undefined when none is long enough to mask. */
export function secretMasker(secrets: readonly string[]): ((text: string) => string) | undefined {
  const needles = secrets.filter((s) => s.length >= MIN_MASKED_LENGTH).sort((a, b) => b.length - a.length);
  if (needles.length === 0) return undefined;
  return (text) => {
    let out = text;
    for (const n of needles) if (out.includes(n)) out = out.split(n).join(MASK);
    return out;
  };
}

/**
 * A copy of `value` with `fn` applied to every string in it, keys included. A reference to an
 * object it is already inside (a cycle) becomes `[Circular]` rather than a stack overflow.
 */
export function mapStrings<T>(value: T, fn: (text: string) => string): T {
  const inside = new Set<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return fn(v);
    if (v === null || typeof v !== 'object') return v;
    if (inside.has(v)) return '[Circular]';
    inside.add(v);
    let out: unknown;
    if (Array.isArray(v)) out = v.map(walk);
    else {
      const copy: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v))
        Object.defineProperty(copy, fn(k), {
          value: walk(item),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      out = copy;
    }
    inside.delete(v);
    return out;
  };
  return walk(value) as T;
}
