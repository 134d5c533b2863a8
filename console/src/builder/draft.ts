// The builder's form state (API.md section 3, as a form holds it): strings for what people type,
// lists for key/value pairs. flow-to-draft.ts and draft-to-flow.ts map it to and from the API's JSON.
// Pure: no DOM, no preact, so the round trip is tested on its own (src/console/console-model.spec.ts).

export type StepType = 'transform' | 'http' | 'slack' | 'delay' | 'emit' | 'branch' | 'forEach';
export const STEP_TYPES: StepType[] = ['transform', 'http', 'slack', 'delay', 'emit', 'branch', 'forEach'];
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
export const HOOK_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
export const VERIFY_SCHEMES = [
  'github',
  'stripe',
  'slack',
  'shopify',
  'standard-webhooks',
  'hmac',
  'token',
  'basic',
] as const;
export type VerifyScheme = (typeof VERIFY_SCHEMES)[number];

/** The fields each verify scheme takes (API.md section 4), in form order. */
export const VERIFY_FIELDS: Record<VerifyScheme, Array<keyof VerifyDraft>> = {
  github: ['secret'],
  stripe: ['secret', 'toleranceSec'],
  slack: ['secret', 'toleranceSec'],
  shopify: ['secret'],
  'standard-webhooks': ['secret', 'toleranceSec'],
  hmac: ['secret', 'header', 'algorithm', 'encoding', 'prefix'],
  token: ['header', 'value'],
  basic: ['username', 'password'],
};

export interface KvRow {
  key: string;
  value: string;
}

/** How a JSON-ish field (http body, emit data) is edited: key/value templates, raw JSON or text. */
export type ValueMode = 'none' | 'fields' | 'json' | 'text';

export interface VerifyDraft {
  scheme: VerifyScheme | '';
  secret: string;
  toleranceSec: string;
  header: string;
  algorithm: string;
  encoding: string;
  prefix: string;
  value: string;
  username: string;
  password: string;
}

export interface TriggerDraft {
  type: 'webhook' | 'schedule' | 'event';
  /** null: the default (POST only), not written. */
  methods: string[] | null;
  verify: VerifyDraft;
  idempotencyKey: string;
  responseSet: boolean;
  responseMode: 'async' | 'sync';
  responseTimeoutMs: string;
  responseStep: string;
  maxBody: string;
  cron: string;
  timezone: string;
  payloadText: string;
  event: string;
  extra: Record<string, unknown>;
}

export interface SignDraft {
  scheme: '' | 'standard-webhooks' | 'hmac';
  secret: string;
  header: string;
  algorithm: string;
  encoding: string;
  prefix: string;
}

/** One case of a branch: its steps run when `when` is truthy. */
export interface CaseDraft {
  uid: string;
  id: string;
  when: string;
  steps: StepDraft[];
  extra: Record<string, unknown>;
}

export interface StepDraft {
  /** Stable key for the UI list; never sent. */
  uid: string;
  type: StepType;
  id: string;
  name: string;
  if: string;
  attempts: string;
  backoffType: '' | 'fixed' | 'exponential';
  delayMs: string;
  maxDelayMs: string;
  timeoutMs: string;
  continueOnError: boolean;
  expression: string;
  method: string;
  url: string;
  headers: KvRow[];
  query: KvRow[];
  bodyMode: ValueMode;
  bodyFields: KvRow[];
  bodyText: string;
  sign: SignDraft;
  slackMode: 'webhook' | 'api';
  webhookUrl: string;
  token: string;
  channel: string;
  text: string;
  blocksText: string;
  delayMode: 'ms' | 'until';
  ms: string;
  until: string;
  event: string;
  dataMode: ValueMode;
  dataFields: KvRow[];
  dataText: string;
  /** branch: '' (the API's default, first case only), 'first' or 'all'. */
  branchMode: '' | 'first' | 'all';
  cases: CaseDraft[];
  hasDefault: boolean;
  defaultSteps: StepDraft[];
  /** forEach */
  items: string;
  concurrency: string;
  maxItems: string;
  onItemError: '' | 'stop' | 'continue';
  children: StepDraft[];
  extra: Record<string, unknown>;
  retryExtra: Record<string, unknown>;
}

export interface FlowDraft {
  name: string;
  description: string;
  enabled: boolean;
  trigger: TriggerDraft;
  filter: string;
  steps: StepDraft[];
  /** The flow's `onError`, kept as the API gave it: the form has no control for it (JSON tab). */
  onError?: Record<string, unknown>;
}

export interface Definition {
  trigger: Record<string, unknown>;
  filter?: string;
  steps: Array<Record<string, unknown>>;
  onError?: Record<string, unknown>;
}

export interface FlowShape extends Definition {
  name: string;
  description?: string;
  enabled?: boolean;
}

let uidCounter = 0;
export function newUid(): string {
  uidCounter += 1;
  return `s${uidCounter}`;
}

export function emptyVerify(): VerifyDraft {
  return {
    scheme: '',
    secret: '',
    toleranceSec: '',
    header: '',
    algorithm: 'sha256',
    encoding: 'hex',
    prefix: '',
    value: '',
    username: '',
    password: '',
  };
}

export function emptyTrigger(type: TriggerDraft['type'] = 'webhook'): TriggerDraft {
  return {
    type,
    methods: null,
    verify: emptyVerify(),
    idempotencyKey: '',
    responseSet: false,
    responseMode: 'async',
    responseTimeoutMs: '',
    responseStep: '',
    maxBody: '',
    cron: '*/5 * * * *',
    timezone: 'UTC',
    payloadText: '',
    event: '',
    extra: {},
  };
}

export function emptyStep(type: StepType, id: string): StepDraft {
  return {
    uid: newUid(),
    type,
    id,
    name: '',
    if: '',
    attempts: '',
    backoffType: '',
    delayMs: '',
    maxDelayMs: '',
    timeoutMs: '',
    continueOnError: false,
    expression: '',
    method: 'POST',
    url: '',
    headers: [],
    query: [],
    bodyMode: 'fields',
    bodyFields: [{ key: '', value: '' }],
    bodyText: '',
    sign: { scheme: '', secret: '', header: 'X-Signature', algorithm: 'sha256', encoding: 'hex', prefix: '' },
    slackMode: 'webhook',
    webhookUrl: '',
    token: '',
    channel: '',
    text: '',
    blocksText: '',
    delayMode: 'ms',
    ms: '',
    until: '',
    event: '',
    dataMode: 'fields',
    dataFields: [{ key: '', value: '' }],
    dataText: '',
    branchMode: '',
    cases: type === 'branch' ? [emptyCase()] : [],
    hasDefault: false,
    defaultSteps: [],
    items: '',
    concurrency: '',
    maxItems: '',
    onItemError: '',
    children: [],
    extra: {},
    retryExtra: {},
  };
}

export function emptyCase(): CaseDraft {
  return { uid: newUid(), id: '', when: '', steps: [], extra: {} };
}

/** The steps a step holds: a branch's cases and default, a forEach's steps. */
export function nestedSteps(s: StepDraft): StepDraft[] {
  if (s.type === 'branch')
    return [...s.cases.flatMap((c) => c.steps), ...(s.hasDefault ? s.defaultSteps : [])];
  if (s.type === 'forEach') return s.children;
  return [];
}

/** Every step id of the flow, nested ones included (ids are unique in the whole flow). */
export function allStepIds(steps: StepDraft[]): string[] {
  return steps.flatMap((s) => [s.id, ...allStepIds(nestedSteps(s))]);
}

export function emptyDraft(): FlowDraft {
  return { name: '', description: '', enabled: false, trigger: emptyTrigger(), filter: '', steps: [] };
}

/**
 * A step of a type the form has no fields for (branch, forEach, sql, a broker step…): its own
 * fields, nested steps included, stay in `extra` and are edited in the JSON tab.
 */
export function foreignType(s: StepDraft): string | undefined {
  return typeof s.extra.type === 'string' ? s.extra.type : undefined;
}

/** A step id not used yet in the flow, from the step type: `http`, `http_2`, ... */
export function freshStepId(steps: StepDraft[], type: StepType): string {
  const used = new Set(allStepIds(steps));
  if (!used.has(type)) return type;
  for (let n = 2; ; n++) if (!used.has(`${type}_${n}`)) return `${type}_${n}`;
}
