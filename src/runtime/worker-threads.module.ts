import { Module } from '@nestjs/common';
import { WorkerThreads } from 'src/runtime/worker-threads.service';

/** MODE=all with WORKER_THREADS > 0: the API's process runs its jobs in threads of its own. */
@Module({ providers: [WorkerThreads] })
export class WorkerThreadsModule {}
