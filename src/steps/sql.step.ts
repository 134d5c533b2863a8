import { ArrayMaxSize, IsArray, IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { CompiledTemplate, compileTemplate } from 'src/expressions/template';
import { connectionFailure, withDeadline } from 'src/steps/connections/connection-errors';
import { compileConnectionUrl, maskUrl, renderConnectionUrl } from 'src/steps/connections/connection-url';
import { isSqlRefusal, type SqlResult } from 'src/steps/connections/sql-connection';
import { connectionsOf, DEFAULT_CONNECTION_TIMEOUT_MS } from 'src/steps/step-support';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepHandler, StepRunContext } from 'src/steps/step-handler';

export const SQL_SCHEMES = ['postgres:', 'postgresql:', 'mysql:'] as const;

export class SqlStepDto extends StepBaseDto {
  @IsIn(['sql']) declare type: 'sql';
  @IsString() @IsNotEmpty() @MaxLength(8192) url!: string;
  /** Sent as written: never a template, values go through `params`. */
  @IsString() @IsNotEmpty() @MaxLength(100_000) query!: string;
  @IsOptional() @IsArray() @ArrayMaxSize(1000) params?: unknown[];
}

export interface CompiledSql {
  url: CompiledTemplate;
  params: CompiledTemplate;
}

async function renderSql(
  c: CompiledSql,
  def: SqlStepDto,
  ctx: Pick<StepRunContext, 'input' | 'bindings'>,
): Promise<{ url: URL; params: unknown[]; request: Record<string, unknown> }> {
  const url = await renderConnectionUrl(c.url, ctx.bindings, 'url', SQL_SCHEMES);
  const rendered = await c.params.render(ctx.input, ctx.bindings);
  const params = Array.isArray(rendered) ? rendered.map((v: unknown) => v ?? null) : [];
  return { url, params, request: { url: maskUrl(url), query: def.query, params } };
}

/**
 * One statement against PostgreSQL or MySQL/MariaDB (API.md section 11): values only as bound
 * parameters, `timeoutMs` as the server's statement timeout, at most 1,000 rows back.
 */
export const sqlStep: StepHandler<SqlStepDto, CompiledSql> = {
  type: 'sql',
  dto: SqlStepDto,
  pure: false,
  defaultAttempts: 5,
  compile(def, path) {
    return {
      url: compileConnectionUrl(def.url, `${path}.url`),
      params: compileTemplate(def.params ?? [], `${path}.params`),
    };
  },
  async run(c, def, ctx) {
    const { url, params, request } = await renderSql(c, def, ctx);
    const timeoutMs = def.timeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS;
    const pool = connectionsOf(ctx).sql;
    let result: SqlResult;
    try {
      // Connecting and queueing for a pooled connection count too; the server's own timeout is
      // set to timeoutMs and fires first, the client's a little later.
      result = await withDeadline(
        pool.use(url, timeoutMs, (db) => db.query(def.query, params, timeoutMs)),
        timeoutMs + 3000,
        'the query',
      );
    } catch (e) {
      throw connectionFailure(e, request, isSqlRefusal);
    }
    return { kind: 'succeeded', output: { rows: result.rows, rowCount: result.rowCount }, request };
  },
  async preview(c, def, ctx) {
    return { request: (await renderSql(c, def, ctx)).request };
  },
};
