import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from 'src/config/app-config';
import { ExpressionBindings, isTruthy } from 'src/expressions/expression';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import { batchEvent, batchGroup, joinsBatch } from 'src/executions/batching/batch-group';
import { concurrencyGroup } from 'src/executions/concurrency/concurrency-key';
import { expressionInput, routeEvent } from 'src/executions/route-event';
import { toItems } from 'src/executions/loops/loop-runner.service';
import { CompiledFlow, CompiledStep } from 'src/flows/flow-compiler';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { CreateFlowDto } from 'src/flows/dto/create-flow.dto';
import { FlowService } from 'src/flows/flow.service';
import { locateError, previewStep } from 'src/runs/step-preview';
import { nextFireAfter } from 'src/schedules/cron';
import { maskSecrets } from 'src/secrets/secret-cipher';
import { SecretsService } from 'src/secrets/secrets.service';
import { PreviewContext } from 'src/steps/step-handler';

export interface DryRunStep {
  id: string;
  status: 'would_run' | 'skipped' | 'error';
  request?: unknown;
  output?: unknown;
  reason?: string;
  error?: string;
  /** A branch: the previews of the steps of the cases that would run. */
  steps?: DryRunStep[];
  /** A forEach: how many items it would run, and the previews of the first ones. */
  total?: number;
  iterations?: Array<{ index: number; item: unknown; steps: DryRunStep[] }>;
}

export interface DryRunResult {
  filter: { matched: boolean; error?: string };
  steps: DryRunStep[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * `POST /flows/{id}/test` (API.md section 2): evaluates the idempotency key, the filter, every `if`
 * and every template of the flow's current version against an event, as a run would (with the same
 * settings, e.g. SLACK_API_URL), and sends and writes nothing.
 */
@Injectable()
export class DryRunService {
  constructor(
    private readonly flowService: FlowService,
    private readonly flows: FlowCacheService,
    private readonly secrets: SecretsService,
    private readonly config: AppConfig,
  ) {}

  async test(flowId: string, given: Record<string, unknown> = {}): Promise<DryRunResult> {
    const row = await this.flowService.get(flowId);
    return this.dryRun(await this.flows.get(row.id, row.version), given);
  }

  /** `POST /flows/test`: the same for a definition that is not saved (400 as `POST /flows` for a bad one). */
  async testDefinition(dto: CreateFlowDto, given: Record<string, unknown>): Promise<DryRunResult> {
    const flow = this.flowService.compile({ id: randomUUID(), name: dto.name, version: 1 }, dto);
    return this.dryRun(flow, given);
  }

  private async dryRun(flow: CompiledFlow, given: Record<string, unknown>): Promise<DryRunResult> {
    const secrets = await this.secrets.values();
    const bindings: ExpressionBindings = { secrets };
    const event = dryEvent(flow, given);
    // Routed as a real event of this trigger would be: a failing filter or idempotency key stores a
    // failed execution and runs no step, so the dry run shows that error and runs none either.
    let route = await routeEvent(flow, event, null, secrets, {
      idempotencyKey: flow.definition.trigger.type === 'webhook',
    });
    // A trigger `batch`: a `batch.key` that fails keeps the event as a failed execution; otherwise the
    // steps are previewed on the group's event, as a group of this one event (src/executions/batching).
    let runEvent = event;
    if (joinsBatch(flow.batch, event) && route.failure === undefined && !route.filtered) {
      const group = await batchGroup(flow, event, secrets);
      if (group.failure !== undefined) route = { filtered: false, failure: group.failure };
      else runEvent = batchEvent({ ...event, id: randomUUID(), type: 'batch' }, [event]);
    }
    const input = expressionInput(flow, runEvent, null);
    // A `concurrency.key` that fails on the event fails the execution too (ExecutionLauncher.intoLine).
    if (flow.concurrency?.key && route.failure === undefined && !route.filtered) {
      const group = await concurrencyGroup(flow, runEvent, null, secrets);
      if (group.failure !== undefined) route = { filtered: false, failure: group.failure };
    }
    const filter: DryRunResult['filter'] =
      route.failure !== undefined ? { matched: false, error: route.failure } : { matched: !route.filtered };
    const notRun = (id: string): DryRunStep => ({
      id,
      status: 'skipped',
      reason:
        route.failure !== undefined
          ? `the event would be stored as failed: ${route.failure}`
          : 'the filter did not match the event',
    });
    const ctx = { input, bindings, depth: 0, services: { slackApiUrl: this.config.values.SLACK_API_URL } };
    const steps: DryRunStep[] = [];
    for (const [i, step] of flow.steps.entries())
      steps.push(filter.matched ? await this.step(step, `steps[${i}]`, ctx) : notRun(step.def.id));
    return maskSecrets({ filter, steps }, Object.values(secrets));
  }

  private async step(step: CompiledStep, path: string, ctx: PreviewContext): Promise<DryRunStep> {
    const id = step.def.id;
    const { input, bindings } = ctx;
    if (step.if) {
      let pass: boolean;
      try {
        pass = isTruthy(await step.if.evaluate(input, bindings));
      } catch (e) {
        return { id, status: 'error', error: `${path}.if: ${(e as Error).message}` };
      }
      if (!pass) return { id, status: 'skipped', reason: `if is false: ${step.def.if}` };
    }
    if (step.branch) return this.branch(step, path, ctx);
    if (step.loop) return this.loop(step, path, ctx);
    try {
      const preview = await previewStep(step, ctx);
      // Later steps see what this one would give (transform outputs, a delay's waitedMs).
      if ('output' in preview) input.steps[id] = preview.output ?? null;
      return { id, status: 'would_run', ...preview };
    } catch (e) {
      return { id, status: 'error', error: await locateError(step, path, e, ctx) };
    }
  }

  /** A forEach: the number of items, and the previews of the first 10 items' steps. */
  private async loop(step: CompiledStep, path: string, ctx: PreviewContext): Promise<DryRunStep> {
    const loop = step.loop!;
    const id = step.def.id;
    let items: unknown[];
    try {
      items = toItems(await loop.items.evaluate(ctx.input, ctx.bindings));
    } catch (e) {
      return { id, status: 'error', error: `${path}.items: ${(e as Error).message}` };
    }
    const total = items.length;
    if (total > loop.maxItems)
      return {
        id,
        status: 'error',
        total,
        error: `items gave ${total} items, more than maxItems (${loop.maxItems})`,
      };
    const iterations: NonNullable<DryRunStep['iterations']> = [];
    for (const [index, item] of items.slice(0, 10).entries()) {
      // Each item sees the steps before the loop and its own body's previews, not another item's.
      const input = {
        ...ctx.input,
        steps: { ...ctx.input.steps },
        item,
        index,
        // Every loop around this one too (a nested loop's item sees loops.<outer id>.item).
        loops: { ...(ctx.input as { loops?: object }).loops, [id]: { item, index } },
      };
      const steps: DryRunStep[] = [];
      for (const [j, s] of loop.steps.entries())
        steps.push(await this.step(s, `${path}.steps[${j}]`, { ...ctx, input }));
      iterations.push({ index, item, steps });
    }
    return { id, status: 'would_run', total, iterations };
  }

  /** A branch: which cases would run, and the previews of their steps. */
  private async branch(step: CompiledStep, path: string, ctx: PreviewContext): Promise<DryRunStep> {
    const branch = step.branch!;
    const id = step.def.id;
    const taken: number[] = [];
    for (const [i, c] of branch.cases.entries()) {
      try {
        if (!isTruthy(await c.when.evaluate(ctx.input, ctx.bindings))) continue;
      } catch (e) {
        return { id, status: 'error', error: `${path}.cases[${i}].when: ${(e as Error).message}` };
      }
      taken.push(i);
      if (branch.mode === 'first') break;
    }
    const output = { matched: taken.map((i) => branch.cases[i].label) };
    const steps: DryRunStep[] = [];
    const bodies =
      taken.length > 0
        ? taken.map((i) => ({ list: branch.cases[i].steps, at: `${path}.cases[${i}].steps` }))
        : [{ list: branch.default, at: `${path}.default` }];
    for (const { list, at } of bodies)
      for (const [j, s] of list.entries()) steps.push(await this.step(s, `${at}[${j}]`, ctx));
    ctx.input.steps[id] = output;
    return { id, status: 'would_run', output, steps };
  }
}

/** The given event with what a real one of the flow's trigger would also hold filled in. */
export function dryEvent(flow: CompiledFlow, given: Record<string, unknown>): FlowEvent {
  const trigger = flow.definition.trigger;
  const now = new Date();
  const base: FlowEvent = { id: randomUUID(), type: trigger.type, receivedAt: now.toISOString(), body: {} };
  // Broker triggers (API.md section 11) take the given event as it is.
  if (trigger.type === 'webhook') {
    Object.assign(base, { method: trigger.methods?.[0] ?? 'POST', headers: {}, query: {} });
  } else if (trigger.type === 'schedule') {
    base.body = trigger.payload ?? {};
    try {
      base.scheduledAt = nextFireAfter(trigger.cron, trigger.timezone, now).toISOString();
    } catch {
      // no future fire: leave scheduledAt out
    }
  } else if (trigger.type === 'event') {
    base.name = trigger.event;
  }
  const event: FlowEvent = { ...base, ...given };
  if (isObject(given.headers)) {
    // Header names reach expressions in lower case, as on a real request.
    event.headers = Object.fromEntries(
      Object.entries(given.headers).map(([k, v]) => [k.toLowerCase(), String(v)]),
    );
  }
  return event;
}
