import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * Plain SQL on TypeORM's own pg pool, for the hot paths (accept, step runner, reconciler): rows
 * come back as rows whatever the statement (TypeORM's query() wraps UPDATE results differently),
 * and no query runner is built per call.
 */
@Injectable()
export class Sql {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  private get pool(): Pool {
    return (this.db.driver as PostgresDriver).master as Pool;
  }

  async rows<T>(text: string, values: unknown[] = []): Promise<T[]> {
    const result = await this.pool.query(text, values);
    return result.rows as T[];
  }
}
