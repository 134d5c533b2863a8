import { Module } from '@nestjs/common';
import { TriggerStatusStore } from 'src/brokers/trigger-status.store';

/** Broker trigger status in Redis: written by workers, read by GET /flows/{id} (every MODE). */
@Module({ providers: [TriggerStatusStore], exports: [TriggerStatusStore] })
export class BrokerStatusModule {}
