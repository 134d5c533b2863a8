import type {
  ApiKey,
  BulkAction,
  BulkFilter,
  CreatedApiKey,
  Destination,
  DestinationBody,
  DryRunResult,
  Execution,
  ExecutionSummary,
  Flow,
  FlowVersion,
  Iteration,
  OnErrorDefinition,
  Operation,
  Page,
  Secret,
  StatsBucket,
} from './types';

const KEY_STORAGE = 'hookflow.apiKey';
const BASE = '/api/v1';

/** An error answer of the API: `{statusCode, error, message}` with the messages as a list. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly messages: string[],
  ) {
    super(messages.join('; ') || `HTTP ${status}`);
  }
}

// The key lives in sessionStorage: it is kept for this tab only and gone when the tab closes.
export const session = {
  key(): string | null {
    return sessionStorage.getItem(KEY_STORAGE);
  },
  signIn(key: string): void {
    sessionStorage.setItem(KEY_STORAGE, key);
  },
  signOut(): void {
    sessionStorage.removeItem(KEY_STORAGE);
  },
};

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called when the API answers 401: the key was revoked or is wrong. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

function messagesOf(body: unknown, status: number): string[] {
  const message = (body as { message?: unknown } | null)?.message;
  if (Array.isArray(message)) return message.map(String);
  if (typeof message === 'string') return [message];
  return [`HTTP ${status}`];
}

async function request<T>(method: string, path: string, body?: unknown, key = session.key()): Promise<T> {
  const res = await fetch(BASE + path, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { message: text };
    }
  }
  if (!res.ok) {
    if (res.status === 401 && key === session.key()) for (const l of unauthorizedListeners) l();
    throw new ApiError(res.status, messagesOf(parsed, res.status));
  }
  return parsed as T;
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;

export interface FlowBody {
  name: string;
  description?: string;
  enabled?: boolean;
  trigger: Record<string, unknown>;
  filter?: string;
  steps: Array<Record<string, unknown>>;
  onError?: OnErrorDefinition;
}

export const api = {
  /** Checks a key before keeping it. */
  check: (key: string) => request<Page<Flow>>('GET', '/flows?limit=1', undefined, key),

  flows: (cursor?: string) => request<Page<Flow>>('GET', `/flows${query({ limit: 50, cursor })}`),
  flow: (id: string) => request<Flow>('GET', `/flows/${enc(id)}`),
  createFlow: (body: FlowBody) => request<Flow>('POST', '/flows', body),
  replaceFlow: (id: string, body: FlowBody) => request<Flow>('PUT', `/flows/${enc(id)}`, body),
  patchFlow: (id: string, body: Partial<FlowBody>) => request<Flow>('PATCH', `/flows/${enc(id)}`, body),
  deleteFlow: (id: string) => request<void>('DELETE', `/flows/${enc(id)}`),
  rotateToken: (id: string) => request<Flow>('POST', `/flows/${enc(id)}/rotate-token`),
  versions: (id: string) => request<Page<FlowVersion>>('GET', `/flows/${enc(id)}/versions?limit=200`),
  runFlow: (id: string, payload: unknown) =>
    request<{ executionId: string }>('POST', `/flows/${enc(id)}/run`, { payload }),
  testFlow: (id: string, event: Record<string, unknown>) =>
    request<DryRunResult>('POST', `/flows/${enc(id)}/test`, { event }),
  stats: (id: string, params: { from?: string; to?: string; bucket?: '1m' | '5m' | '1h' | '1d' }) =>
    request<{ buckets: StatsBucket[] }>('GET', `/flows/${enc(id)}/stats${query(params)}`),
  /** The dry run of a definition that is not saved: nothing is stored. */
  testDefinition: (definition: FlowBody, event: Record<string, unknown>) =>
    request<DryRunResult>('POST', '/flows/test', { definition, event }),

  executions: (params: { flowId?: string; status?: string; limit?: number; cursor?: string }) =>
    request<Page<ExecutionSummary>>('GET', `/executions${query({ limit: 50, ...params })}`),
  execution: (id: string) => request<Execution>('GET', `/executions/${enc(id)}`),
  retry: (id: string) => request<{ executionId: string }>('POST', `/executions/${enc(id)}/retry`),
  replay: (id: string) => request<{ executionId: string }>('POST', `/executions/${enc(id)}/replay`),
  cancel: (id: string) => request<Execution>('POST', `/executions/${enc(id)}/cancel`),
  iterations: (id: string, params: { step?: string; status?: string; limit?: number; cursor?: string }) =>
    request<Page<Iteration>>('GET', `/executions/${enc(id)}/iterations${query({ limit: 10, ...params })}`),

  bulkCount: (action: BulkAction, filter: BulkFilter) =>
    request<{ matched: number }>('POST', '/executions/bulk', { action, filter, dryRun: true }),
  bulkStart: (action: BulkAction, filter: BulkFilter) =>
    request<{ operationId: string; matched: number }>('POST', '/executions/bulk', { action, filter }),
  operation: (id: string) => request<Operation>('GET', `/operations/${enc(id)}`),
  cancelOperation: (id: string) => request<Operation>('POST', `/operations/${enc(id)}/cancel`),

  destinations: () => request<Page<Destination>>('GET', '/destinations?limit=200'),
  destination: (name: string) => request<Destination>('GET', `/destinations/${enc(name)}`),
  putDestination: (name: string, body: DestinationBody) =>
    request<Destination>('PUT', `/destinations/${enc(name)}`, body),
  deleteDestination: (name: string) => request<void>('DELETE', `/destinations/${enc(name)}`),
  resetDestination: (name: string) => request<Destination>('POST', `/destinations/${enc(name)}/reset`),

  secrets: () => request<Page<Secret>>('GET', '/secrets?limit=200'),
  setSecret: (name: string, value: string) => request<Secret>('PUT', `/secrets/${enc(name)}`, { value }),
  deleteSecret: (name: string) => request<void>('DELETE', `/secrets/${enc(name)}`),

  apiKeys: () => request<Page<ApiKey>>('GET', '/api-keys?limit=200'),
  createApiKey: (name: string) => request<CreatedApiKey>('POST', '/api-keys', { name }),
  revokeApiKey: (id: string) => request<void>('DELETE', `/api-keys/${enc(id)}`),
};

/** A human line for any error thrown by the client. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.messages.join('\n');
  if (e instanceof Error) return e.message;
  return String(e);
}
