import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CompiledFlow, compileFlow } from 'src/flows/flow-compiler';
import { FlowDefinition } from 'src/flows/flow-definition';

const LIMIT = 2000;

/**
 * Compiled flow versions by `flowId:version`. Versions never change once written, so entries never
 * go stale; the map is bounded and drops its oldest entry when full.
 */
@Injectable()
export class FlowCacheService {
  private readonly compiled = new Map<string, CompiledFlow>();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  remember(flow: CompiledFlow): CompiledFlow {
    const key = `${flow.id}:${flow.version}`;
    if (!this.compiled.has(key) && this.compiled.size >= LIMIT)
      this.compiled.delete(this.compiled.keys().next().value as string);
    this.compiled.set(key, flow);
    return flow;
  }

  async get(flowId: string, version: number): Promise<CompiledFlow> {
    const hit = this.compiled.get(`${flowId}:${version}`);
    if (hit) return hit;
    const rows: Array<{ name: string; definition: FlowDefinition }> = await this.db.query(
      'SELECT name, definition FROM flow_versions WHERE flow_id = $1 AND version = $2',
      [flowId, version],
    );
    if (rows.length === 0) throw new NotFoundException(`flow ${flowId} has no version ${version}`);
    return this.remember(compileFlow({ id: flowId, name: rows[0].name, version }, rows[0].definition));
  }
}
