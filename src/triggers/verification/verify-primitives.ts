import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export interface VerifyRequest {
  /** Header names lower-case, as Node and Fastify deliver them. */
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

export const OK: VerifyResult = { ok: true };

export function fail(reason: string): VerifyResult {
  return { ok: false, reason };
}

export function header(request: VerifyRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

// Per-process key: comparing HMACs of both sides gives equal-length buffers for timingSafeEqual,
// so neither the expected value nor its length leaks through timing.
const compareKey = randomBytes(32);

function digest(value: string | Buffer): Buffer {
  return createHmac('sha256', compareKey).update(value).digest();
}

export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** True when any candidate matches; every candidate is compared so the count of checks does not depend on the match. */
export function safeEqualAny(candidates: readonly string[], expected: string): boolean {
  let matched = false;
  for (const candidate of candidates) {
    matched = safeEqual(candidate, expected) || matched;
  }
  return matched;
}

export function hmac(
  algorithm: 'sha1' | 'sha256' | 'sha512',
  key: string | Buffer,
  parts: readonly (string | Buffer)[],
): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

const UNIX_SECONDS = /^\d{1,12}$/;

export function parseUnixSeconds(value: string): number | undefined {
  return UNIX_SECONDS.test(value) ? Number(value) : undefined;
}

/** Rejects both replays (too old) and clock-skewed or pre-signed requests (too far ahead). */
export function withinTolerance(timestampSec: number, nowMs: number, toleranceSec: number): boolean {
  return Math.abs(nowMs / 1000 - timestampSec) <= toleranceSec;
}
