import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export interface RateLimit {
  max: number;
  perMs: number;
}

export interface CircuitBreaker {
  failures: number;
  cooldownMs: number;
}

/** A named group of outbound targets that share limits (API.md §10). Live state is in Redis. */
@Entity('destinations')
export class DestinationEntity {
  @PrimaryColumn('text') name!: string;
  /** Host patterns: `host`, `host:port`, `*.domain`. */
  @Column('jsonb') match!: string[];
  @Column('jsonb', { name: 'rate_limit', nullable: true }) rateLimit!: RateLimit | null;
  @Column('int', { nullable: true }) concurrency!: number | null;
  @Column('jsonb', { name: 'circuit_breaker', nullable: true }) circuitBreaker!: CircuitBreaker | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
