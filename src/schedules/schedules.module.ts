import { Module } from '@nestjs/common';
import { FlowsModule } from 'src/flows/flows.module';
import { RunsModule } from 'src/runs/runs.module';
import { SchedulerService } from 'src/schedules/scheduler.service';
import { ScheduleStore } from 'src/schedules/schedule-store.service';
import { SchedulesService } from 'src/schedules/schedules.service';

/** Schedule triggers: rows kept in step with flows in every MODE; fired by workers (not MODE=api). */
@Module({
  imports: [FlowsModule, RunsModule],
  providers: [ScheduleStore, SchedulesService, SchedulerService],
})
export class SchedulesModule {}
