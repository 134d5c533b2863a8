import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity('api_keys')
@Index('api_keys_active_name_idx', { synchronize: false })
export class ApiKeyEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  /** sha256 of the key: keys are 192 random bits, so a fast hash is enough and lookups stay cheap. */
  @Column('text', { name: 'key_hash', unique: true }) keyHash!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
}
