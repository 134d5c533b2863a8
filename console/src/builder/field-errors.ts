// Places the server's 400 messages on the form. Each validation message of the API starts with the
// field path (`steps[1].url must be ...`, `steps[1].body.x: ... (at position 9)`, `property
// steps[0].foo should not exist`); a message goes to the deepest field of the form that is a prefix
// of its path, so an error inside a JSON box lands on the box. Pure: tested without a browser.
import { VERIFY_FIELDS, type FlowDraft, type KvRow, type StepDraft } from './draft';

export interface PlacedErrors {
  /** field key → messages for that field */
  byField: Record<string, string[]>;
  /** messages no field of the form matches: shown in the summary only */
  unplaced: string[];
}

function rowKeys(base: string, rows: KvRow[]): string[] {
  return [base, ...rows.filter((r) => r.key !== '').map((r) => `${base}.${r.key}`)];
}

/** Every field key the form shows for this draft. */
export function fieldKeys(d: FlowDraft): string[] {
  const keys = ['name', 'description', 'enabled', 'trigger', 'trigger.type', 'filter', 'steps'];
  const t = d.trigger;
  if (t.type === 'webhook') {
    keys.push('trigger.methods', 'trigger.verify', 'trigger.verify.scheme', 'trigger.idempotencyKey');
    if (t.verify.scheme) for (const k of VERIFY_FIELDS[t.verify.scheme]) keys.push(`trigger.verify.${k}`);
    keys.push('trigger.response', 'trigger.response.mode', 'trigger.maxBody');
    if (t.responseMode === 'sync') keys.push('trigger.response.timeoutMs', 'trigger.response.step');
  } else if (t.type === 'schedule') {
    keys.push('trigger.cron', 'trigger.timezone', 'trigger.payload');
  } else {
    keys.push('trigger.event');
  }
  d.steps.forEach((s, i) => stepKeys(s, `steps[${i}]`, keys));
  return keys;
}

/** The field keys of one step at path `p`, its nested steps' included. */
function stepKeys(s: StepDraft, p: string, keys: string[]): void {
  keys.push(p, `${p}.id`, `${p}.type`, `${p}.name`, `${p}.if`, `${p}.timeoutMs`, `${p}.continueOnError`);
  keys.push(`${p}.retry`, `${p}.retry.attempts`, `${p}.retry.backoff`, `${p}.retry.backoff.type`);
  if (s.backoffType) keys.push(`${p}.retry.backoff.delayMs`, `${p}.retry.backoff.maxDelayMs`);
  switch (s.type) {
    case 'transform':
      keys.push(`${p}.expression`);
      break;
    case 'http':
      keys.push(`${p}.method`, `${p}.url`, ...rowKeys(`${p}.headers`, s.headers));
      keys.push(...rowKeys(`${p}.query`, s.query), `${p}.body`);
      if (s.bodyMode === 'fields') keys.push(...rowKeys(`${p}.body`, s.bodyFields).slice(1));
      keys.push(`${p}.sign`, `${p}.sign.scheme`);
      if (s.sign.scheme) keys.push(`${p}.sign.secret`);
      if (s.sign.scheme === 'hmac')
        keys.push(`${p}.sign.header`, `${p}.sign.algorithm`, `${p}.sign.encoding`, `${p}.sign.prefix`);
      break;
    case 'slack':
      if (s.slackMode === 'webhook') keys.push(`${p}.webhookUrl`);
      else keys.push(`${p}.token`, `${p}.channel`);
      keys.push(`${p}.text`, `${p}.blocks`);
      break;
    case 'delay':
      keys.push(s.delayMode === 'ms' ? `${p}.ms` : `${p}.until`);
      break;
    case 'emit':
      keys.push(`${p}.event`, `${p}.data`);
      if (s.dataMode === 'fields') keys.push(...rowKeys(`${p}.data`, s.dataFields).slice(1));
      break;
    case 'branch':
      keys.push(`${p}.mode`, `${p}.cases`, `${p}.default`);
      s.cases.forEach((c, ci) => {
        const cp = `${p}.cases[${ci}]`;
        keys.push(cp, `${cp}.id`, `${cp}.when`, `${cp}.steps`);
        c.steps.forEach((x, i) => stepKeys(x, `${cp}.steps[${i}]`, keys));
      });
      if (s.hasDefault) s.defaultSteps.forEach((x, i) => stepKeys(x, `${p}.default[${i}]`, keys));
      break;
    case 'forEach':
      keys.push(`${p}.items`, `${p}.concurrency`, `${p}.maxItems`, `${p}.onItemError`, `${p}.steps`);
      s.children.forEach((x, i) => stepKeys(x, `${p}.steps[${i}]`, keys));
      break;
  }
}

/** The field path a message is about, or the message itself when it names none. */
export function messagePath(message: string): string {
  const unknown = /^property (\S+) should not exist/.exec(message);
  return unknown ? unknown[1] : message;
}

function isBoundary(c: string | undefined): boolean {
  return c === undefined || c === ' ' || c === ':' || c === '.' || c === '[' || c === ',';
}

/** The deepest known key that the message's path starts with, if any. */
export function fieldFor(message: string, keys: readonly string[]): string | undefined {
  const path = messagePath(message);
  let best: string | undefined;
  for (const key of keys) {
    if (path.startsWith(key) && isBoundary(path[key.length]) && (!best || key.length > best.length))
      best = key;
  }
  return best;
}

/** What to show under the field: the message without its leading path. */
export function shortMessage(message: string, key: string): string {
  const unknown = /^property (\S+) should not exist/.exec(message);
  if (unknown) {
    const below = unknown[1].slice(key.length).replace(/^\./, '');
    return below ? `unknown field "${below}"` : 'is not a known field here';
  }
  if (!message.startsWith(key)) return message;
  const rest = message.slice(key.length).replace(/^:\s*/, '').trim();
  if (rest === '') return message;
  // `steps[0].body.x: ...` shown on the body box keeps the part of the path below the box.
  return rest.startsWith('.') || rest.startsWith('[') ? rest.replace(/^\./, '') : rest;
}

export function placeErrors(messages: readonly string[], keys: readonly string[]): PlacedErrors {
  const byField: Record<string, string[]> = {};
  const unplaced: string[] = [];
  for (const m of messages) {
    const key = fieldFor(m, keys);
    if (key === undefined || key === 'steps' || key === 'trigger') unplaced.push(m);
    else (byField[key] ??= []).push(shortMessage(m, key));
  }
  return { byField, unplaced };
}

/** The character position an expression error points at (`... (at position 9)`), 1-based. */
export function errorPosition(message: string): number | undefined {
  const m = /\(at position (\d+)\)\s*$/.exec(message);
  return m ? Number(m[1]) : undefined;
}
