import { ApiKeyEntity } from 'src/auth/api-key.entity';
import { AuditEntity } from 'src/audit/audit.entity';
import { SecretEntity } from 'src/secrets/secret.entity';
import { DestinationEntity } from 'src/destinations/destination.entity';
import { ExecutionEntity } from 'src/executions/execution.entity';
import { FlowEntity, FlowVersionEntity } from 'src/flows/flow.entity';

export const ENTITIES = [
  ApiKeyEntity,
  AuditEntity,
  FlowEntity,
  FlowVersionEntity,
  ExecutionEntity,
  SecretEntity,
  DestinationEntity,
];
