import bytes from 'bytes';

/** "256kb", "1mb" or a plain number of bytes → bytes. Throws on anything else. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') return value;
  const parsed = bytes.parse(value.trim());
  if (parsed === null || !Number.isFinite(parsed) || parsed < 0) throw new Error(`not a size: ${value}`);
  return Math.floor(parsed);
}
