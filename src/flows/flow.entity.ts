import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { FlowDefinition } from 'src/flows/flow-definition';

@Entity('flows')
@Index('flows_list_idx', { synchronize: false })
export class FlowEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text', { nullable: true }) description!: string | null;
  @Column('boolean', { default: true }) enabled!: boolean;
  @Column('int') version!: number;
  @Column('text', { name: 'trigger_type' }) triggerType!: string;
  /** For `event` triggers: the event type the flow listens to. */
  @Index('flows_event_type_idx') @Column('text', { name: 'event_type', nullable: true }) eventType!:
    string | null;
  /** For `webhook` triggers: the secret part of the trigger URL; null once deleted. */
  @Column('text', { nullable: true, unique: true }) token!: string | null;
  @Column('jsonb') definition!: FlowDefinition;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'deleted_at', nullable: true }) deletedAt!: Date | null;
}

/** Every definition a flow ever had; runs read the version they started with. */
@Entity('flow_versions')
export class FlowVersionEntity {
  @PrimaryColumn('uuid', { name: 'flow_id' }) flowId!: string;
  @ManyToOne(() => FlowEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'flow_id', foreignKeyConstraintName: 'flow_versions_flow_id_fkey' })
  flow?: FlowEntity;
  @PrimaryColumn('int') version!: number;
  @Column('text') name!: string;
  @Column('text', { nullable: true }) description!: string | null;
  @Column('jsonb') definition!: FlowDefinition;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
