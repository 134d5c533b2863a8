import {
  jsonNestsDeeperThan,
  mayHoldSurrogateEscape,
  MAX_JSON_DEPTH,
  unstorableReason,
} from 'src/common/jsonb';

/** Turns a raw inbound body into `event.body` by its content type (API.md section 3, "The event"). */
export class MalformedBodyError extends Error {}

export function parseHookBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return null;
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) {
    const text = raw.toString('utf8');
    if (jsonNestsDeeperThan(text))
      throw new MalformedBodyError(`JSON body nests deeper than ${MAX_JSON_DEPTH} levels`);
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch (e) {
      throw new MalformedBodyError(`malformed JSON body: ${(e as Error).message}`);
    }
    // Only a \uD800-style escape can put a lone surrogate in a parsed body (decoding bytes as UTF-8
    // turns bad sequences into U+FFFD), so the common body costs one scan of its text.
    const unstorable = mayHoldSurrogateEscape(text) ? unstorableReason(body, 'body') : undefined;
    if (unstorable) throw new MalformedBodyError(unstorable);
    return body;
  }
  if (type === 'application/x-www-form-urlencoded') {
    const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) {
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    return { ...out };
  }
  if (type.startsWith('text/') || type === 'application/xml' || type.endsWith('+xml'))
    return raw.toString('utf8');
  return raw.toString('base64');
}

/** Header names lower case, repeated headers joined as HTTP allows. */
export function normalizeHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
