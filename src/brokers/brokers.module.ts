import { Module } from '@nestjs/common';
import { BrokerIntake } from 'src/brokers/broker-intake.service';
import { BrokerStatusModule } from 'src/brokers/broker-status.module';
import { ConsumerSupervisor } from 'src/brokers/consumer-supervisor.service';
import { ExecutionsModule } from 'src/executions/executions.module';
import { FlowsModule } from 'src/flows/flows.module';
import { SecretsModule } from 'src/secrets/secrets.module';

/** Broker triggers (API.md §11): consumers in worker processes (MODE=worker, or all). */
@Module({
  imports: [FlowsModule, ExecutionsModule, SecretsModule, BrokerStatusModule],
  providers: [BrokerIntake, ConsumerSupervisor],
})
export class BrokersModule {}
