import { toText } from 'src/expressions/template';
import type { OutboundConnections } from 'src/steps/connections/outbound-connections';
import { StepFailure } from 'src/steps/step-failure';
import type { StepRunContext } from 'src/steps/step-handler';

/** Connect and answer within this unless the step sets `timeoutMs` (as http steps). */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;

/** The process's pooled connections; only a worker has them. */
export function connectionsOf(ctx: Pick<StepRunContext, 'services'>): OutboundConnections {
  const connections = ctx.services.connections;
  if (!connections) throw new StepFailure('this process has no outbound connections (not a worker)', false);
  return connections;
}

/** A message body as bytes (API.md section 11): text as UTF-8, anything else as JSON. */
export function encodeBody(body: unknown): { payload: Buffer; contentType: string } {
  if (typeof body === 'string')
    return { payload: Buffer.from(body), contentType: 'text/plain; charset=utf-8' };
  return { payload: Buffer.from(JSON.stringify(body ?? null)), contentType: 'application/json' };
}

/** Rendered headers as text; absent and null values are left out. */
export function headerValues(rendered: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (rendered === null || typeof rendered !== 'object' || Array.isArray(rendered)) return out;
  for (const [k, v] of Object.entries(rendered)) if (v !== undefined && v !== null) out[k] = toText(v);
  return out;
}

/** A rendered name (routing key, topic, subject) that must be non-empty text within `maxBytes`. */
export function renderedName(value: unknown, field: string, maxBytes: number): string {
  const text = toText(value);
  if (text === '') throw new StepFailure(`${field} is empty once rendered`, false);
  if (Buffer.byteLength(text) > maxBytes)
    throw new StepFailure(`${field} is longer than ${maxBytes} bytes`, false);
  return text;
}
