import { createHash, randomUUID } from 'node:crypto';
import { jsonNestsDeeperThan, mayHoldSurrogateEscape, unstorableReason } from 'src/common/jsonb';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { BrokerTriggerType } from 'src/flows/definitions/broker-trigger.dto';

/** One message as a consumer hands it over, before it becomes an event. */
export interface BrokerMessage {
  payload: Uint8Array;
  /** Names lower case (lowerCaseHeaders). */
  headers: Record<string, string>;
  source: NonNullable<FlowEvent['source']>;
  /** The broker's id of the message, the default idempotency key; undefined when it has none. */
  messageId?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `event.body` of a message (API.md §11): the parsed JSON when the payload is JSON, else its text
 * when it is UTF-8, else base64. JSON that PostgreSQL's jsonb could not keep (a lone surrogate
 * escape, nesting past the bound) stays text, so a message can always be stored — a payload that
 * could never commit would be redelivered forever.
 */
export function decodeBody(payload: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64');
  }
  if (text.trim() === '' || jsonNestsDeeperThan(text)) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  return mayHoldSurrogateEscape(text) && unstorableReason(parsed) ? text : parsed;
}

/** A header value as text: strings as they are, bytes as UTF-8, anything else as JSON. */
export function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value) ?? '';
}

/** Header names lower case; absent values left out; a repeated name joined with ", " as HTTP does. */
export function lowerCaseHeaders(entries: Iterable<[string, unknown]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (value === undefined || value === null) continue;
    const key = name.toLowerCase();
    const text = Array.isArray(value) ? value.map(headerText).join(', ') : headerText(value);
    out[key] = out[key] === undefined ? text : `${out[key]}, ${text}`;
  }
  return out;
}

/** The event a message becomes (API.md §11). */
export function brokerEvent(type: BrokerTriggerType, message: BrokerMessage, now = new Date()): FlowEvent {
  return {
    id: randomUUID(),
    type,
    receivedAt: now.toISOString(),
    headers: message.headers,
    source: message.source,
    body: decodeBody(message.payload),
  };
}

/**
 * The stored idempotency key of a message id: hashed exactly as route-event.ts stores the value of a
 * `trigger.idempotencyKey` expression, so `event.source.messageId` written out as the expression keeps
 * the same keys as the default.
 */
export function messageIdKey(messageId: string): string {
  return createHash('sha256').update(messageId).digest('base64url');
}
