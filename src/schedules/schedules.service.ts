import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { FlowChangeListener, FlowService } from 'src/flows/flow.service';
import { ScheduleStore } from 'src/schedules/schedule-store.service';

/**
 * Keeps the schedules table in step with flow changes made by this process (every MODE), so that
 * create, PUT, PATCH, enable, disable and DELETE take effect before the API answers. A change whose
 * process dies before this runs is picked up by the scheduler's sweep.
 */
@Injectable()
export class SchedulesService implements OnModuleInit, FlowChangeListener {
  private readonly logger = new Logger(SchedulesService.name);

  constructor(
    private readonly flowService: FlowService,
    private readonly store: ScheduleStore,
  ) {}

  onModuleInit(): void {
    this.flowService.onChange(this);
  }

  async flowChanged(_flow: unknown, flowId: string): Promise<void> {
    try {
      await this.store.sync(flowId);
    } catch (e) {
      // The flow change is committed; failing its answer now would mislead. The sweep syncs it.
      this.logger.warn({ err: e, flowId }, 'could not sync the schedule of a changed flow; the sweep will');
    }
  }
}
