import { Module } from '@nestjs/common';
import { FlowCacheService } from 'src/flows/flow-cache.service';
import { FlowController } from 'src/flows/flow.controller';
import { FlowService } from 'src/flows/flow.service';

@Module({
  controllers: [FlowController],
  providers: [FlowService, FlowCacheService],
  exports: [FlowService, FlowCacheService],
})
export class FlowsModule {}
