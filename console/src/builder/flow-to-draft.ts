// A flow as the API gives it → the form's state. Fields the form has no control for are kept in
// `extra` and written back by draft-to-flow.ts, so the JSON view round-trips without loss.
import {
  emptyStep,
  newUid,
  emptyTrigger,
  VERIFY_SCHEMES,
  type FlowDraft,
  type FlowShape,
  type KvRow,
  type StepDraft,
  type StepType,
  type TriggerDraft,
  type ValueMode,
  type VerifyDraft,
  type VerifyScheme,
} from './draft';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Text for a form control: strings as they are, numbers and booleans as written, anything else as JSON. */
function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
const numText = str;
const pretty = (v: unknown): string => JSON.stringify(v, null, 2);

function take(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!keys.includes(k)) rest[k] = v;
  return rest;
}

function toRows(v: unknown): KvRow[] {
  return isObject(v) ? Object.entries(v).map(([key, value]) => ({ key, value: str(value) })) : [];
}

const isFlatStrings = (v: unknown): v is Record<string, string> =>
  isObject(v) && Object.values(v).every((x) => typeof x === 'string');

function valueToDraft(v: unknown): { mode: ValueMode; fields: KvRow[]; text: string } {
  if (v === undefined) return { mode: 'none', fields: [], text: '' };
  if (typeof v === 'string') return { mode: 'text', fields: [], text: v };
  if (isFlatStrings(v) && Object.keys(v).length > 0) return { mode: 'fields', fields: toRows(v), text: '' };
  return { mode: 'json', fields: [], text: pretty(v) };
}

const TRIGGER_KEYS = [
  'type',
  'methods',
  'verify',
  'idempotencyKey',
  'response',
  'maxBody',
  'cron',
  'timezone',
  'payload',
  'event',
  'token',
  'url',
];

export function triggerToDraft(t: Record<string, unknown>): TriggerDraft {
  const type = t.type === 'schedule' || t.type === 'event' ? t.type : 'webhook';
  const d = emptyTrigger(type);
  d.extra = take(t, TRIGGER_KEYS);
  if (t.type !== type) d.extra.type = t.type;
  if (type === 'webhook') {
    d.methods = Array.isArray(t.methods) ? t.methods.map(String) : null;
    if (isObject(t.verify)) {
      const v = t.verify;
      d.verify.scheme = (VERIFY_SCHEMES as readonly string[]).includes(str(v.scheme))
        ? (v.scheme as VerifyScheme)
        : '';
      for (const k of Object.keys(d.verify) as Array<keyof VerifyDraft>) {
        if (k !== 'scheme' && v[k] !== undefined) d.verify[k] = numText(v[k]);
      }
    }
    d.idempotencyKey = str(t.idempotencyKey);
    if (isObject(t.response)) {
      d.responseSet = true;
      d.responseMode = t.response.mode === 'sync' ? 'sync' : 'async';
      d.responseTimeoutMs = numText(t.response.timeoutMs);
      d.responseStep = str(t.response.step);
    }
    d.maxBody = numText(t.maxBody);
  } else if (type === 'schedule') {
    d.cron = str(t.cron);
    d.timezone = str(t.timezone);
    d.payloadText = t.payload === undefined ? '' : pretty(t.payload);
  } else {
    d.event = str(t.event);
  }
  return d;
}

const STEP_KEYS: Record<StepType, string[]> = {
  transform: ['expression'],
  http: ['method', 'url', 'headers', 'query', 'body', 'sign'],
  slack: ['webhookUrl', 'token', 'channel', 'text', 'blocks'],
  delay: ['ms', 'until'],
  emit: ['event', 'data'],
  branch: ['mode', 'cases', 'default'],
  forEach: ['items', 'concurrency', 'maxItems', 'onItemError', 'steps'],
};

const stepList = (v: unknown): StepDraft[] => (Array.isArray(v) ? v.filter(isObject).map(stepToDraft) : []);
const COMMON_KEYS = ['id', 'type', 'name', 'if', 'retry', 'timeoutMs', 'continueOnError'];

export function stepToDraft(s: Record<string, unknown>): StepDraft {
  const type = (STEP_KEYS as Record<string, string[]>)[str(s.type)] ? (s.type as StepType) : 'transform';
  const d = emptyStep(type, str(s.id));
  d.extra = take(s, [...COMMON_KEYS, ...STEP_KEYS[type]]);
  if (s.type !== type) d.extra.type = s.type;
  d.name = str(s.name);
  d.if = str(s.if);
  d.timeoutMs = numText(s.timeoutMs);
  d.continueOnError = s.continueOnError === true;
  if (s.continueOnError !== undefined && typeof s.continueOnError !== 'boolean')
    d.extra.continueOnError = s.continueOnError;
  if (isObject(s.retry)) {
    d.attempts = numText(s.retry.attempts);
    d.retryExtra = take(s.retry, ['attempts', 'backoff']);
    if (isObject(s.retry.backoff)) {
      d.backoffType = s.retry.backoff.type === 'fixed' ? 'fixed' : 'exponential';
      d.delayMs = numText(s.retry.backoff.delayMs);
      d.maxDelayMs = numText(s.retry.backoff.maxDelayMs);
    }
  }
  switch (type) {
    case 'transform':
      d.expression = str(s.expression);
      break;
    case 'http': {
      d.method = str(s.method) || 'POST';
      d.url = str(s.url);
      d.headers = toRows(s.headers);
      d.query = toRows(s.query);
      const body = valueToDraft(s.body);
      [d.bodyMode, d.bodyFields, d.bodyText] = [body.mode, body.fields, body.text];
      if (isObject(s.sign)) {
        const sign = s.sign;
        d.sign.scheme = sign.scheme === 'hmac' || sign.scheme === 'standard-webhooks' ? sign.scheme : '';
        for (const k of ['secret', 'header', 'algorithm', 'encoding', 'prefix'] as const)
          if (sign[k] !== undefined) d.sign[k] = str(sign[k]);
      }
      break;
    }
    case 'slack':
      d.slackMode = s.token !== undefined || s.channel !== undefined ? 'api' : 'webhook';
      d.webhookUrl = str(s.webhookUrl);
      d.token = str(s.token);
      d.channel = str(s.channel);
      d.text = str(s.text);
      d.blocksText = s.blocks === undefined ? '' : typeof s.blocks === 'string' ? s.blocks : pretty(s.blocks);
      break;
    case 'delay':
      d.delayMode = s.until !== undefined ? 'until' : 'ms';
      d.ms = numText(s.ms);
      d.until = str(s.until);
      break;
    case 'emit': {
      d.event = str(s.event);
      const data = valueToDraft(s.data);
      [d.dataMode, d.dataFields, d.dataText] = [data.mode, data.fields, data.text];
      break;
    }
    case 'branch':
      if (s.mode === 'first' || s.mode === 'all') d.branchMode = s.mode;
      else if (s.mode !== undefined) d.extra.mode = s.mode;
      // What the form cannot hold (cases that are not a list, a default that is not a list) stays as given.
      if (Array.isArray(s.cases))
        d.cases = s.cases.filter(isObject).map((c) => ({
          uid: newUid(),
          id: str(c.id),
          when: str(c.when),
          steps: stepList(c.steps),
          extra: take(c, ['id', 'when', 'steps']),
        }));
      else if (s.cases !== undefined) d.extra.cases = s.cases;
      else d.cases = [];
      d.hasDefault = Array.isArray(s.default);
      d.defaultSteps = stepList(s.default);
      if (s.default !== undefined && !d.hasDefault) d.extra.default = s.default;
      break;
    case 'forEach':
      d.items = str(s.items);
      d.concurrency = numText(s.concurrency);
      d.maxItems = numText(s.maxItems);
      if (s.onItemError === 'stop' || s.onItemError === 'continue') d.onItemError = s.onItemError;
      else if (s.onItemError !== undefined) d.extra.onItemError = s.onItemError;
      d.children = stepList(s.steps);
      if (s.steps !== undefined && !Array.isArray(s.steps)) d.extra.steps = s.steps;
      break;
  }
  return d;
}

export function flowToDraft(f: FlowShape): FlowDraft {
  return {
    name: f.name ?? '',
    description: f.description ?? '',
    enabled: f.enabled ?? true,
    trigger: triggerToDraft(isObject(f.trigger) ? f.trigger : { type: 'webhook' }),
    filter: f.filter ?? '',
    steps: Array.isArray(f.steps) ? f.steps.filter(isObject).map(stepToDraft) : [],
    ...(isObject(f.onError) ? { onError: f.onError } : {}),
  };
}

/** Problems the browser can see before asking the server (JSON that does not parse), by field. */
