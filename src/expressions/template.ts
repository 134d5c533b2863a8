import {
  CompiledExpression,
  compileExpression,
  ExpressionBindings,
  ExpressionEvaluationError,
  ExpressionInput,
  ExpressionSyntaxError,
} from 'src/expressions/expression';

/** A value whose strings may hold `{{ expression }}` parts, compiled once and rendered per run. */
export interface CompiledTemplate {
  render(input: ExpressionInput, bindings: ExpressionBindings): Promise<unknown>;
}

/** A syntax error inside a template, with the field path it was found at. */
export class TemplateSyntaxError extends Error {
  constructor(
    readonly path: string,
    override readonly cause: ExpressionSyntaxError,
  ) {
    super(`${path}: ${cause.message}`);
  }
}

type Part = string | CompiledExpression;

/**
 * Splits text into literal and `{{ … }}` parts. The end of a part is the first `}}` outside string
 * literals and outside braces opened inside the part, so `{{ {'a': {'b': 1}} }}` is one part.
 */
export function splitTemplate(
  text: string,
): Array<{ literal: string } | { expression: string; offset: number }> {
  const parts: Array<{ literal: string } | { expression: string; offset: number }> = [];
  let i = 0;
  let literal = '';
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open === -1) break;
    literal += text.slice(i, open);
    const start = open + 2;
    const end = findClose(text, start);
    if (end === -1) throw new ExpressionSyntaxError('"{{" has no matching "}}"', open + 1);
    if (literal) parts.push({ literal });
    literal = '';
    parts.push({ expression: text.slice(start, end), offset: start });
    i = end + 2;
  }
  literal += text.slice(i);
  if (literal) parts.push({ literal });
  return parts;
}

function findClose(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipQuoted(text, i, c);
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) return -1;
      i = end + 1;
    } else if (c === '{') {
      depth++;
    } else if (c === '}') {
      if (depth === 0 && text[i + 1] === '}') return i;
      if (depth > 0) depth--;
    }
  }
  return -1;
}

function skipQuoted(text: string, at: number, quote: string): number {
  for (let i = at + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  return text.length;
}

/** Text for a value inside a larger string: strings as they are, nothing as empty, the rest as JSON. */
export function toText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function compileParts(text: string, path: string): Part[] {
  let split;
  try {
    split = splitTemplate(text);
  } catch (e) {
    throw new TemplateSyntaxError(path, e as ExpressionSyntaxError);
  }
  return split.map((p) => {
    if ('literal' in p) return p.literal;
    try {
      return compileExpression(p.expression);
    } catch (e) {
      const err = e as ExpressionSyntaxError;
      throw new TemplateSyntaxError(path, err);
    }
  });
}

function compileString(text: string, path: string): CompiledTemplate {
  const parts = compileParts(text, path);
  if (parts.length === 0) return { render: async () => text };
  if (parts.length === 1 && typeof parts[0] !== 'string') {
    // Exactly one `{{ … }}`: the value keeps its type; nothing becomes null.
    const expr = parts[0];
    return { render: async (input, bindings) => (await expr.evaluate(input, bindings)) ?? null };
  }
  if (parts.every((p) => typeof p === 'string')) return { render: async () => parts.join('') };
  return {
    async render(input, bindings) {
      let out = '';
      for (const part of parts)
        out += typeof part === 'string' ? part : toText(await part.evaluate(input, bindings));
      return out;
    },
  };
}

function encodeUrlPart(value: string, path: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    // URIError: a lone surrogate.
    throw new ExpressionEvaluationError(`${path}: a value spliced into the URL is not valid Unicode`);
  }
}

/** A `.` or `..` path segment: the URL parser would climb with it, encoded or not (`%2e%2e`). */
function isDotSegment(before: string, value: string, after: string): boolean {
  return (
    (value === '.' || value === '..') &&
    !/[?#]/.test(before) &&
    before.endsWith('/') &&
    /^(?:[/?#]|$)/.test(after)
  );
}

/**
 * Compiles a URL template (an http step's `url`, a slack step's `webhookUrl`). The rule:
 * - a template that is exactly one `{{ }}` is the whole URL and is used as it is (a secret webhook URL);
 * - a `{{ }}` part that starts the template is used as it is too: it chooses scheme and host, like a
 *   whole-URL template (`{{ $secrets.API_BASE }}/users/{{ event.body.id }}`);
 * - every other `{{ }}` part is percent-encoded with encodeURIComponent, so a value stays inside its
 *   path segment or query value: `/echo/{{ p }}` with p = "../../secret" requests `/echo/..%2F..%2Fsecret`;
 * - such a part that renders to exactly `.` or `..` as a whole path segment fails the step, since
 *   URL parsing would move up the path with it however it is encoded.
 */
export function compileUrlTemplate(text: string, path: string): CompiledTemplate {
  const parts = compileParts(text, path);
  if (parts.length === 1 || parts.every((p) => typeof p === 'string')) return compileString(text, path);
  return {
    async render(input, bindings) {
      const texts: string[] = [];
      const encoded: number[] = [];
      for (const [i, part] of parts.entries()) {
        if (typeof part === 'string') {
          texts.push(part);
          continue;
        }
        const value = toText(await part.evaluate(input, bindings));
        if (i === 0) {
          texts.push(value);
        } else {
          encoded.push(texts.length);
          texts.push(encodeUrlPart(value, path));
        }
      }
      for (const i of encoded) {
        const before = texts.slice(0, i).join('');
        if (isDotSegment(before, texts[i], texts.slice(i + 1).join('')))
          throw new ExpressionEvaluationError(
            `${path}: a value spliced into the URL path is "${texts[i]}", which would change the path`,
          );
      }
      return texts.join('');
    },
  };
}

/**
 * Compiles a template value: strings are templates, objects and arrays are templated leaf by leaf,
 * other values stand as they are. `path` names the field in errors (`steps[1].body.x`).
 */
export function compileTemplate(value: unknown, path: string): CompiledTemplate {
  if (typeof value === 'string') return compileString(value, path);
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileTemplate(v, `${path}[${i}]`));
    return { render: async (input, bindings) => Promise.all(items.map((t) => t.render(input, bindings))) };
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => [k, compileTemplate(v, `${path}.${k}`)] as const,
    );
    return {
      async render(input, bindings) {
        const out: Record<string, unknown> = {};
        // defineProperty, so a key named __proto__ stays a plain key.
        for (const [k, t] of entries)
          Object.defineProperty(out, k, {
            value: await t.render(input, bindings),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        return out;
      },
    };
  }
  return { render: async () => value };
}

/** True when a string holds at least one `{{`: used to tell templates from literals cheaply. */
export function isTemplated(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('{{');
  if (Array.isArray(value)) return value.some(isTemplated);
  if (value !== null && typeof value === 'object') return Object.values(value).some(isTemplated);
  return false;
}
