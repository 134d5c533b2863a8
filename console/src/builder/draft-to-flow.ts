// The form's state → the flow the API takes (POST/PUT /flows). The server validates; this side only
// turns typed text into JSON and reports what cannot be sent at all (JSON that does not parse).
import {
  foreignType,
  VERIFY_FIELDS,
  type FlowDraft,
  type FlowShape,
  type KvRow,
  type StepDraft,
  type TriggerDraft,
  type ValueMode,
  type VerifyDraft,
} from './draft';

const NUMERIC_VERIFY = new Set<keyof VerifyDraft>(['toleranceSec']);

export type ClientErrors = Record<string, string>;

/** Numbers go as numbers; anything else goes as typed so the server's 400 names the field. */
function num(s: string): number | string | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : t;
}

function parseJson(text: string, path: string, errors: ClientErrors): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    errors[path] = `not valid JSON: ${(e as Error).message}`;
    return undefined;
  }
}

function rowsToObject(rows: KvRow[]): Record<string, string> | undefined {
  const filled = rows.filter((r) => r.key.trim() !== '' || r.value !== '');
  if (filled.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const r of filled) out[r.key] = r.value;
  return out;
}

function valueFromDraft(
  mode: ValueMode,
  fields: KvRow[],
  text: string,
  path: string,
  errors: ClientErrors,
): unknown {
  switch (mode) {
    case 'none':
      return undefined;
    case 'fields':
      return rowsToObject(fields);
    case 'json':
      return text.trim() === '' ? undefined : parseJson(text, path, errors);
    case 'text':
      return text;
  }
}

function put(out: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined && value !== '') out[key] = value;
}

export function triggerFromDraft(t: TriggerDraft, errors: ClientErrors): Record<string, unknown> {
  const out: Record<string, unknown> = { type: t.type };
  if (t.type === 'webhook') {
    if (t.methods !== null) out.methods = t.methods;
    if (t.verify.scheme) {
      const verify: Record<string, unknown> = { scheme: t.verify.scheme };
      for (const k of VERIFY_FIELDS[t.verify.scheme]) {
        const raw = t.verify[k];
        put(verify, k, NUMERIC_VERIFY.has(k) ? num(raw) : raw);
      }
      out.verify = verify;
    }
    put(out, 'idempotencyKey', t.idempotencyKey);
    if (t.responseSet || t.responseMode === 'sync') {
      const response: Record<string, unknown> = { mode: t.responseMode };
      put(response, 'timeoutMs', num(t.responseTimeoutMs));
      put(response, 'step', t.responseStep);
      out.response = response;
    }
    put(out, 'maxBody', num(t.maxBody));
  } else if (t.type === 'schedule') {
    out.cron = t.cron;
    put(out, 'timezone', t.timezone);
    if (t.payloadText.trim() !== '') put(out, 'payload', parseJson(t.payloadText, 'trigger.payload', errors));
  } else {
    out.event = t.event;
  }
  return { ...out, ...t.extra };
}

/** `at`: the step's index in the flow's steps, or its path (`steps[0].cases[1].steps[2]`) when nested. */
export function stepFromDraft(
  s: StepDraft,
  at: number | string,
  errors: ClientErrors,
): Record<string, unknown> {
  const path = typeof at === 'number' ? `steps[${at}]` : at;
  const list = (steps: StepDraft[], base: string) =>
    steps.map((x, i) => stepFromDraft(x, `${base}[${i}]`, errors));
  const out: Record<string, unknown> = { id: s.id, type: s.type };
  put(out, 'name', s.name);
  put(out, 'if', s.if);
  const retry: Record<string, unknown> = { ...s.retryExtra };
  put(retry, 'attempts', num(s.attempts));
  if (s.backoffType) {
    const backoff: Record<string, unknown> = { type: s.backoffType };
    put(backoff, 'delayMs', num(s.delayMs));
    put(backoff, 'maxDelayMs', num(s.maxDelayMs));
    retry.backoff = backoff;
  }
  if (Object.keys(retry).length > 0) out.retry = retry;
  put(out, 'timeoutMs', num(s.timeoutMs));
  if (s.continueOnError) out.continueOnError = true;
  // A branch, forEach or other type without a form: its fields are all in `extra`.
  if (foreignType(s)) return { ...out, ...s.extra };
  switch (s.type) {
    case 'transform':
      out.expression = s.expression;
      break;
    case 'http': {
      out.method = s.method;
      out.url = s.url;
      put(out, 'headers', rowsToObject(s.headers));
      put(out, 'query', rowsToObject(s.query));
      const body = valueFromDraft(s.bodyMode, s.bodyFields, s.bodyText, `${path}.body`, errors);
      if (body !== undefined) out.body = body;
      if (s.sign.scheme) {
        const sign: Record<string, unknown> = { scheme: s.sign.scheme, secret: s.sign.secret };
        if (s.sign.scheme === 'hmac') {
          sign.header = s.sign.header;
          sign.algorithm = s.sign.algorithm;
          sign.encoding = s.sign.encoding;
          put(sign, 'prefix', s.sign.prefix);
        }
        out.sign = sign;
      }
      break;
    }
    case 'slack':
      if (s.slackMode === 'webhook') out.webhookUrl = s.webhookUrl;
      else {
        out.token = s.token;
        out.channel = s.channel;
      }
      put(out, 'text', s.text);
      if (s.blocksText.trim() !== '') {
        const t = s.blocksText.trim();
        out.blocks = t.startsWith('[') ? parseJson(t, `${path}.blocks`, errors) : s.blocksText;
      }
      break;
    case 'delay':
      if (s.delayMode === 'ms') out.ms = num(s.ms) ?? '';
      else out.until = s.until;
      break;
    case 'emit': {
      out.event = s.event;
      const data = valueFromDraft(s.dataMode, s.dataFields, s.dataText, `${path}.data`, errors);
      if (data !== undefined) out.data = data;
      break;
    }
    case 'branch':
      put(out, 'mode', s.branchMode);
      out.cases = s.cases.map((c, ci) => ({
        ...(c.id !== '' ? { id: c.id } : {}),
        when: c.when,
        steps: list(c.steps, `${path}.cases[${ci}].steps`),
        ...c.extra,
      }));
      if (s.hasDefault) out.default = list(s.defaultSteps, `${path}.default`);
      break;
    case 'forEach':
      out.items = s.items;
      put(out, 'concurrency', num(s.concurrency));
      put(out, 'maxItems', num(s.maxItems));
      put(out, 'onItemError', s.onItemError);
      out.steps = list(s.children, `${path}.steps`);
      break;
  }
  return { ...out, ...s.extra };
}

/** The flow the API takes (POST/PUT), and the problems found before sending it. */
export function draftToFlow(d: FlowDraft): { flow: FlowShape; errors: ClientErrors } {
  const errors: ClientErrors = {};
  const flow: FlowShape = {
    name: d.name,
    ...(d.description.trim() !== '' ? { description: d.description } : {}),
    enabled: d.enabled,
    trigger: triggerFromDraft(d.trigger, errors),
    ...(d.filter.trim() !== '' ? { filter: d.filter } : {}),
    steps: d.steps.map((s, i) => stepFromDraft(s, i, errors)),
    ...(d.onError ? { onError: d.onError } : {}),
  };
  return { flow, errors };
}
