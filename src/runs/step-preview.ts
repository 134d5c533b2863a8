import { CompiledExpression } from 'src/expressions/expression';
import { compileTemplate } from 'src/expressions/template';
import { CompiledStep } from 'src/flows/flow-compiler';
import { CompiledHttp, HttpStepDto, renderHttpRequest } from 'src/steps/http.step';
import { invalidHeader } from 'src/steps/outbound/http-client';
import { PreviewContext, StepFailure, StepPreview } from 'src/steps/step-handler';

type Preview = (step: CompiledStep, ctx: PreviewContext) => Promise<StepPreview>;

/**
 * Previews for step types whose handler has no `preview` of its own. A type with neither shows as
 * `would_run` without a request.
 */
const BUILT_IN: Record<string, Preview> = {
  async transform(step, ctx) {
    const expr = step.compiled as CompiledExpression;
    return { output: (await expr.evaluate(ctx.input, ctx.bindings)) ?? null };
  },
  async http(step, ctx) {
    try {
      const { request } = await renderHttpRequest(
        step.compiled as CompiledHttp,
        step.def as unknown as HttpStepDto,
        ctx,
      );
      return { request };
    } catch (e) {
      if (e instanceof TypeError) throw new StepFailure(`invalid URL: ${e.message}`, false);
      throw e;
    }
  },
};

/**
 * What the step would send or give, without sending anything; a request the run could not send
 * (a header with CR/LF, say) fails here with the run's message.
 */
export async function previewStep(step: CompiledStep, ctx: PreviewContext): Promise<StepPreview> {
  const builtIn = BUILT_IN[step.def.type];
  const preview = step.handler.preview
    ? await step.handler.preview(step.compiled, step.def, ctx)
    : builtIn
      ? await builtIn(step, ctx)
      : {};
  const headers = (preview.request as { headers?: unknown } | undefined)?.headers;
  const invalid = isStringRecord(headers) ? invalidHeader(headers) : undefined;
  if (invalid) throw new StepFailure(invalid, false);
  return preview;
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return v !== null && typeof v === 'object' && Object.values(v).every((x) => typeof x === 'string');
}

/** Step fields that are not templates (the common fields, and transform's JSONata expression). */
const NOT_TEMPLATED = new Set(['id', 'type', 'name', 'if', 'retry', 'timeoutMs', 'continueOnError']);

/**
 * Turns a preview failure into a message that names its field path: the first templated leaf that
 * fails to render on its own (`steps[1].body.repo: ...`), else the step's one expression, else the step.
 */
export async function locateError(
  step: CompiledStep,
  path: string,
  error: unknown,
  ctx: PreviewContext,
): Promise<string> {
  const message = error instanceof Error ? error.message : String(error);
  if (step.def.type === 'transform') return `${path}.expression: ${message}`;
  for (const [key, value] of Object.entries(step.def)) {
    if (NOT_TEMPLATED.has(key)) continue;
    const found = await firstFailingLeaf(value, `${path}.${key}`, ctx);
    if (found) return found;
  }
  if (/^invalid URL/.test(message) && typeof step.def.url === 'string') return `${path}.url: ${message}`;
  return `${path}: ${message}`;
}

async function firstFailingLeaf(value: unknown, path: string, ctx: PreviewContext): Promise<string | null> {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return null;
    try {
      await compileTemplate(value, path).render(ctx.input, ctx.bindings);
      return null;
    } catch (e) {
      return `${path}: ${(e as Error).message}`;
    }
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = await firstFailingLeaf(item, `${path}[${i}]`, ctx);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = await firstFailingLeaf(item, `${path}.${key}`, ctx);
      if (found) return found;
    }
  }
  return null;
}
