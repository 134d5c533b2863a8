import { Module } from '@nestjs/common';
import { BrokerStatusModule } from 'src/brokers/broker-status.module';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { FlowStatsController } from 'src/flows/flow-stats.controller';
import { FlowStatsRepository } from 'src/flows/flow-stats.repository';
import { FlowStatsService } from 'src/flows/flow-stats.service';
import { FlowController } from 'src/flows/flow.controller';
import { FlowService } from 'src/flows/flow.service';

@Module({
  imports: [BrokerStatusModule],
  controllers: [FlowController, FlowStatsController],
  providers: [FlowService, FlowCacheService, FlowStatsRepository, FlowStatsService],
  exports: [FlowService, FlowCacheService],
})
export class FlowsModule {}
