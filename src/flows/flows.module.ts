import { Module } from '@nestjs/common';
import { BrokerStatusModule } from 'src/brokers/broker-status.module';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { FlowController } from 'src/flows/flow.controller';
import { FlowService } from 'src/flows/flow.service';

@Module({
  imports: [BrokerStatusModule],
  controllers: [FlowController],
  providers: [FlowService, FlowCacheService],
  exports: [FlowService, FlowCacheService],
})
export class FlowsModule {}
