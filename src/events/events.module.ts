import { Module } from '@nestjs/common';
import { EventsController } from 'src/events/events.controller';
import { EventsService } from 'src/events/events.service';
import { FlowsModule } from 'src/flows/flows.module';
import { RunsModule } from 'src/runs/runs.module';

/** The event bus: `POST /api/v1/events`, and the publisher behind `emit` steps (WorkerModule). */
@Module({
  imports: [FlowsModule, RunsModule],
  controllers: [EventsController],
  providers: [EventsService],
  exports: [EventsService],
})
export class EventsModule {}
