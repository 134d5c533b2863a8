/**
 * Runs `fn` over `items`, at most `limit` at a time and in order of start, so that a long list does
 * not flood the API. Resolves when every call has settled; a call that throws stops only itself.
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch {
        // the caller handles its own failures; one failure must not stop the rest
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(0, Math.min(limit, items.length)) }, worker));
}
