import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { SingleFlight } from 'src/common/batcher';
import { unstorableReason } from 'src/common/jsonb';
import { Sql } from 'src/database/sql.service';
import { parseSize } from 'src/common/size';
import { validateShape } from 'src/common/validate-shape';
import { AppConfig } from 'src/config/app-config';
import { ExecutionEntity } from 'src/executions/execution.entity';
import { ExecutionOutcomes } from 'src/executions/execution-outcomes.service';
import { expressionInput, routeEvent } from 'src/executions/route-event';
import { ExecutionLauncher, TriggerChangedError } from 'src/executions/execution-launcher.service';
import { CompiledFlow } from 'src/flows/flow-compiler';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { FlowEvent } from 'src/flows/definitions/flow-event';
import {
  VERIFY_DTO_BY_SCHEME,
  VerifyConfig,
  VerifyScheme,
} from 'src/flows/definitions/verify-config.dto';
import { WebhookTriggerDefinition } from 'src/flows/flow-definition';
import { MetricsService } from 'src/metrics/metrics.service';
import { MASK, maskSecrets } from 'src/secrets/secret-cipher';
import { SecretsService } from 'src/secrets/secrets.service';
import { MalformedBodyError, normalizeHeaders, parseHookBody } from 'src/triggers/hook-body';
import { credentialHeader, verifySignature } from 'src/triggers/verification/schemes';

export interface HookTarget {
  token: string;
  flow: CompiledFlow;
  trigger: WebhookTriggerDefinition;
  maxBody: number;
  /** From this process's memory: may be stale until the insert (or refresh) checks it. */
  remembered?: boolean;
}

/**
 * What a trigger token can look like (base64url, src/flows/flow.service.ts newToken). Anything else
 * names no flow: 404 without a query (a NUL, say, would make PostgreSQL refuse the query itself).
 */
const TOKEN = /^[A-Za-z0-9_-]{1,100}$/;

/** Tokens remembered at most; past it the memory starts over (a query each, as before). */
const REMEMBERED_MAX = 10_000;

export interface HookRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  rawBody: Buffer;
}

export interface HookAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const DEFAULT_SYNC_TIMEOUT_MS = 10_000;
const ACTIVE_STATUSES = new Set(['queued', 'running', 'waiting']);

/** The accept path of `/hooks/{token}` (API.md section 4). */
@Injectable()
export class HookService {
  private readonly logger = new Logger(HookService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly sql: Sql,
    private readonly flows: FlowCacheService,
    private readonly launcher: ExecutionLauncher,
    private readonly secrets: SecretsService,
    private readonly outcomes: ExecutionOutcomes,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  /**
   * Tokens this process accepted for lately. Saves a query per request; it is never trusted on its
   * own: the execution's INSERT only writes while the token still leads to that flow version
   * (executionInsert), and a refusal or a failed INSERT looks the token up afresh (refresh). So a
   * rotated, disabled, deleted or edited trigger behaves at once in every process, as if unremembered.
   * Flows with an idempotency key or a `batch` are not remembered (their writes do not check the token).
   */
  private readonly remembered = new Map<string, HookTarget>();

  /** The enabled webhook flow behind a token, or null (unknown, deleted, disabled, rotated). */
  async lookup(token: string): Promise<HookTarget | null> {
    if (!TOKEN.test(token)) return null;
    return this.remembered.get(token) ?? this.refresh(token);
  }

  /** Looks the token up in PostgreSQL, whatever is remembered, and remembers the answer. */
  async refresh(token: string): Promise<HookTarget | null> {
    if (!TOKEN.test(token)) return null;
    const target = await this.lookups.get(token);
    if (!target || target.flow.idempotencyKey || target.flow.batch) {
      this.remembered.delete(token);
      return target;
    }
    if (this.remembered.size >= REMEMBERED_MAX) this.remembered.clear();
    this.remembered.set(token, { ...target, remembered: true });
    return target;
  }

  /** Concurrent lookups of one trigger URL share one query. */
  private readonly lookups = new SingleFlight<string, HookTarget | null>((token) => this.findTarget(token));

  private async findTarget(token: string): Promise<HookTarget | null> {
    const rows = await this.sql.rows<{ id: string; version: number }>(
      `SELECT id, version FROM flows WHERE token = $1 AND enabled AND deleted_at IS NULL`,
      [token],
    );
    if (rows.length === 0) return null;
    const flow = await this.flows.get(rows[0].id, rows[0].version);
    const trigger = flow.definition.trigger;
    if (trigger.type !== 'webhook') return null;
    const maxBody =
      trigger.maxBody !== undefined ? parseSize(trigger.maxBody) : this.config.values.webhookMaxBodyBytes;
    return { token, flow, trigger, maxBody };
  }

  /**
   * accept() against the trigger as it is now. A remembered target that proves stale — its INSERT
   * was refused, or it refused the request — is looked up afresh and the request taken again, so
   * the answer is the one a fresh lookup would have given.
   */
  async receive(token: string, target: HookTarget | null, req: HookRequest): Promise<HookAnswer> {
    for (let tries = 0; tries < 3; tries++) {
      if (!target) return notFound();
      if (req.rawBody.length > target.maxBody)
        return {
          status: 413,
          body: error(413, 'Payload Too Large', `body is larger than ${target.maxBody} bytes`),
        };
      try {
        const answer = await this.accept(target, req);
        if (answer.status < 400 || !target.remembered) return answer;
        const fresh = await this.refresh(token);
        if (fresh && fresh.flow.version === target.flow.version) return answer;
        target = fresh;
      } catch (e) {
        if (!(e instanceof TriggerChangedError)) throw e;
        target = await this.refresh(token);
      }
    }
    return { status: 503, body: error(503, 'Service Unavailable', 'the flow kept changing; try again') };
  }

  async accept(target: HookTarget, req: HookRequest): Promise<HookAnswer> {
    const { flow, trigger } = target;
    const allowed = trigger.methods ?? ['POST'];
    if (!allowed.includes(req.method)) {
      this.metrics.webhook('rejected', 'method');
      return {
        status: 405,
        body: error(405, 'Method Not Allowed', `this trigger accepts ${allowed.join(', ')}`),
        headers: { allow: allowed.join(', ') },
      };
    }
    // No query here can carry secrets_version (the token lookup is cached), so this reads the short
    // cache (SecretsService CACHE_MS, 250 ms): a PUT in another process reaches intake within that.
    const secrets = flow.verify || flow.idempotencyKey || flow.filter ? await this.secrets.values() : {};
    let credential: string | undefined;
    if (flow.verify) {
      const checked = await this.verify(flow, flow.verify, req, secrets);
      if ('refused' in checked) return checked.refused;
      credential = checked.credential;
    }
    let body: unknown;
    try {
      body = parseHookBody(req.rawBody, headerValue(req.headers['content-type']));
    } catch (e) {
      if (!(e instanceof MalformedBodyError)) throw e;
      this.metrics.webhook('rejected', 'malformed');
      return { status: 400, body: error(400, 'Bad Request', e.message) };
    }
    const event: FlowEvent = {
      id: randomUUID(),
      type: 'webhook',
      receivedAt: new Date().toISOString(),
      method: req.method,
      path: req.path,
      headers: normalizeHeaders(req.headers),
      query: req.query,
      body,
    };
    if (credential !== undefined && event.headers?.[credential] !== undefined)
      event.headers[credential] = MASK;
    // Headers and query are decoded as Latin-1 and UTF-8 with replacement, so they cannot hold a lone
    // surrogate today; checked anyway (a few strings), as nothing unstorable may reach a shared batch.
    const unstorable = unstorableReason(event.headers, 'headers') ?? unstorableReason(event.query, 'query');
    if (unstorable) {
      this.metrics.webhook('rejected', 'malformed');
      return { status: 400, body: error(400, 'Bad Request', unstorable) };
    }
    const executionId = this.launcher.newId();
    const { filtered, failure, key } = await routeEvent(flow, event, executionId, secrets, {
      idempotencyKey: true,
    });
    if (failure !== undefined)
      this.logger.warn({ flowId: flow.id, error: failure }, 'event kept as a failed execution');
    const sync = trigger.response?.mode === 'sync' && !filtered && failure === undefined;
    const waiter = sync
      ? this.outcomes.waitFor(executionId, trigger.response?.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS)
      : undefined;
    let launched;
    try {
      launched =
        key !== undefined
          ? await this.launcher.launchOnce(flow, event, key, { executionId, filtered, failure })
          : {
              ...(await this.launcher.launch(flow, event, {
                executionId,
                filtered,
                failure,
                triggerToken: target.token,
              })),
              duplicate: false,
            };
    } catch (e) {
      waiter?.cancel();
      throw e;
    }
    if (launched.duplicate) {
      waiter?.cancel();
      this.metrics.webhook('duplicate');
      return { status: 200, body: { executionId: launched.executionId, duplicate: true } };
    }
    this.metrics.webhook(filtered ? 'filtered' : 'accepted');
    if (!waiter) return { status: 202, body: { executionId: launched.executionId, status: launched.status } };
    await waiter.promise;
    return this.syncAnswer(flow, trigger, executionId);
  }

  /**
   * Renders `trigger.verify` (its `{{ $secrets.X }}` parts) and checks the request. A config that
   * renders incomplete — a secret not set, or deleted — refuses every request rather than checking
   * against an empty key.
   */
  private async verify(
    flow: CompiledFlow,
    template: NonNullable<CompiledFlow['verify']>,
    req: HookRequest,
    secrets: Record<string, string>,
  ): Promise<{ refused: HookAnswer } | { credential?: string }> {
    let config: VerifyConfig;
    try {
      const rendered = (await template.render(expressionInput(flow, null, null), { secrets })) as {
        scheme: VerifyScheme;
      };
      const dto = VERIFY_DTO_BY_SCHEME[rendered.scheme];
      const problems = validateShape(dto, rendered, 'trigger.verify').errors;
      if (problems.length > 0) throw new Error(problems.join('; '));
      config = rendered as VerifyConfig;
    } catch (e) {
      this.metrics.webhook('unauthorized', 'verify_config');
      this.logger.warn(
        { flowId: flow.id, error: maskSecrets((e as Error).message, Object.values(secrets)) },
        'webhook refused: trigger.verify is incomplete once rendered (is every $secrets entry set?)',
      );
      return { refused: unauthorized('verification failed: verify settings are incomplete') };
    }
    const verdict = verifySignature(config, { headers: req.headers, rawBody: req.rawBody }, Date.now());
    if (!verdict.ok) {
      this.metrics.webhook('unauthorized', config.scheme);
      this.logger.warn(
        { flowId: flow.id, scheme: config.scheme, reason: verdict.reason },
        'webhook verification failed',
      );
      return { refused: unauthorized(`verification failed: ${verdict.reason}`) };
    }
    return { credential: credentialHeader(config) };
  }

  /**
   * The answer of a sync trigger once its run ended or the wait ran out. The row is read either way,
   * so a run that finished just as time ran out (or whose news was lost) still answers with its result.
   */
  private async syncAnswer(
    flow: CompiledFlow,
    trigger: WebhookTriggerDefinition,
    executionId: string,
  ): Promise<HookAnswer> {
    const row = await this.db
      .getRepository(ExecutionEntity)
      .findOne({ where: { id: executionId }, select: { id: true, steps: true, error: true, status: true } });
    if (row && ACTIVE_STATUSES.has(row.status))
      return { status: 202, body: { executionId, status: row.status } };
    const secrets = Object.values(await this.secrets.values());
    if (!row || row.status === 'failed' || row.status === 'cancelled') {
      const message = row?.error ?? `execution ${row?.status ?? 'vanished'}`;
      return {
        status: 502,
        body: { ...error(502, 'Bad Gateway', maskSecrets(message, secrets)), executionId },
      };
    }
    const stepId = trigger.response?.step ?? flow.steps[flow.steps.length - 1]?.def.id;
    const output = stepId ? row.steps[stepId]?.output : undefined;
    return { status: 200, body: maskSecrets(output ?? null, secrets) };
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function error(statusCode: number, err: string, message: string): Record<string, unknown> {
  return { statusCode, error: err, message };
}

export function notFound(): HookAnswer {
  return { status: 404, body: error(404, 'Not Found', 'no enabled flow has this trigger URL') };
}

function unauthorized(message: string): HookAnswer {
  return { status: 401, body: error(401, 'Unauthorized', message) };
}
