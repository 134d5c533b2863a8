import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity('secrets')
export class SecretEntity {
  @PrimaryColumn('text') name!: string;
  /** AES-256-GCM sealed value (secret-cipher.ts). */
  @Column('bytea') value!: Buffer;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
