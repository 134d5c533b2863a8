import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Job, JobOptions, Queue } from 'bull';
import type Redis from 'ioredis';
import {
  CLOSE_BATCH_JOB,
  CloseBatchJob,
  closeBatchJobOptions,
  RUN_STEP_JOB,
  RunStepJob,
  STEPS_QUEUE,
  stepJobOptions,
} from 'src/queue/queue.constants';

/** A job as a handler sees it: its id, its payload, and which of Bull's attempts this is (1-based). */
export interface QueuedJob<T> {
  id: string;
  data: T;
  attempt: number;
}

/** The steps queue's depth by state; `waiting` counts a paused queue's jobs too. */
export type JobCounts = Record<'waiting' | 'active' | 'delayed' | 'failed', number>;

/**
 * The steps queue (Bull, the queue @nestjs/bull registers as STEPS_QUEUE): every add, remove, look-up
 * and handler of its jobs goes through here, with the job ids and options of queue.constants.ts.
 */
/**
 * KEYS: the active, wait and paused lists and the delayed set; ARGV[1]: the job key prefix, then the
 * job ids. Answers the ids with no job: no hash, or an orphan hash (deleted here, see absent()).
 */
const ABSENT_JOBS = `
local gone = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local key = ARGV[1] .. id
  if redis.call('EXISTS', key) == 0 then
    gone[#gone + 1] = id
  elseif not redis.call('LPOS', KEYS[1], id) and not redis.call('LPOS', KEYS[2], id)
      and not redis.call('LPOS', KEYS[3], id) and not redis.call('ZSCORE', KEYS[4], id) then
    redis.call('DEL', key, key .. ':logs')
    gone[#gone + 1] = id
  end
end
return gone`;

@Injectable()
export class StepQueue implements OnModuleInit {
  private readonly logger = new Logger('Queue');
  private lastError = 0;
  private outbox: Array<{ name: string; data: RunStepJob; opts: JobOptions }> = [];
  private flushScheduled = false;
  private adding = false;

  constructor(@InjectQueue(STEPS_QUEUE) private readonly queue: Queue) {}

  /** Without an error listener a Redis outage would crash the process; log it and let ioredis reconnect. */
  onModuleInit(): void {
    this.queue.on('error', (e: Error) => {
      if (Date.now() - this.lastError < 5000) return;
      this.lastError = Date.now();
      this.logger.warn({ err: e.message }, 'queue connection error; retrying');
    });
  }

  /**
   * The queue's Redis connection, shared by what keeps its own keys under QUEUE_PREFIX beside the
   * queue (broker trigger status, destination limits) and by pub/sub relays (duplicate() it to subscribe).
   */
  get redis(): Redis {
    return this.queue.client;
  }

  ping(): Promise<string> {
    return this.queue.client.ping();
  }

  /**
   * Fire and forget, for a job whose row is committed (a failed add only delays the run until the
   * reconciler). One addBulk in flight: jobs enqueued meanwhile (and within the same tick) go to
   * Redis together in the next one — fewer round trips and server wake-ups, as Batcher.
   */
  enqueue(data: RunStepJob, jobId: string, delayMs = 0): void {
    this.outbox.push({ name: RUN_STEP_JOB, data, opts: stepJobOptions(jobId, delayMs) });
    this.flush();
  }

  /** One job, added now: the reconciler's re-add of a job that Redis lost. */
  async add(data: RunStepJob, jobId: string, delayMs: number): Promise<void> {
    await this.queue.add(RUN_STEP_JOB, data, stepJobOptions(jobId, delayMs));
  }

  /** A batch group's close job, due `delayMs` from now; one per group (a re-add dedupes). */
  async addCloseBatch(executionId: string, delayMs: number): Promise<void> {
    const data: CloseBatchJob = { v: 1, executionId };
    await this.queue.add(CLOSE_BATCH_JOB, data, closeBatchJobOptions(executionId, delayMs));
  }

  /** Removes a job that is not running (an active one cannot be removed; Bull throws). */
  async remove(jobId: string): Promise<void> {
    const job = await this.queue.getJob(jobId);
    await job?.remove();
  }

  /** Makes a delayed job due now; false when Bull has no job with this id (yet). */
  async promote(jobId: string): Promise<boolean> {
    const job = await this.queue.getJob(jobId);
    if (!job) return false;
    if (await job.isDelayed()) await job.promote();
    return true;
  }

  /**
   * Which of these job ids Bull holds no job for, in one round trip: no hash, or a hash in none of
   * the lists a job waits or runs in. The second is what a move that failed across a Redis restart
   * leaves (Bull writes a failed job's reason into its hash before the script that finds it gone):
   * Bull would take an add of that id for a repeat and drop it, so the script deletes the hash, and
   * the caller's re-add goes through. Atomic, so no job moves between the look and the delete.
   */
  async absent(jobIds: readonly string[]): Promise<Set<string>> {
    if (jobIds.length === 0) return new Set();
    const lists = ['active', 'wait', 'paused', 'delayed'].map((l) => this.queue.toKey(l));
    const gone = (await this.queue.client.eval(
      ABSENT_JOBS,
      lists.length,
      ...lists,
      this.queue.toKey(''),
      ...jobIds,
    )) as string[];
    return new Set(gone);
  }

  /** Jobs by state, or null when Redis is not ready or does not answer within `timeoutMs`. */
  async counts(timeoutMs: number): Promise<JobCounts | null> {
    if (this.queue.client.status !== 'ready') return null;
    const counts = await Promise.race([
      this.queue.getJobCounts().catch(() => null),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), timeoutMs).unref()),
    ]);
    if (!counts) return null;
    const paused = (counts as { paused?: number }).paused ?? 0;
    return {
      waiting: counts.waiting + paused,
      active: counts.active,
      delayed: counts.delayed,
      failed: counts.failed,
    };
  }

  /** Runs the steps' jobs here, `concurrency` at a time; a handler throws to have Bull try again. */
  processRuns(concurrency: number, handler: (job: QueuedJob<RunStepJob>) => Promise<void>): void {
    this.process(RUN_STEP_JOB, concurrency, handler);
  }

  /** Runs batch groups' close jobs here, `concurrency` at a time. */
  processBatchCloses(concurrency: number, handler: (job: QueuedJob<CloseBatchJob>) => Promise<void>): void {
    this.process(CLOSE_BATCH_JOB, concurrency, handler);
  }

  /** Takes no new jobs in this process (other processes go on); running ones are not waited for. */
  async pauseHere(): Promise<void> {
    await this.queue.pause(true, true);
  }

  /** Resolves when the jobs this process is running have finished. */
  async whenCurrentJobsFinished(): Promise<void> {
    await this.queue.whenCurrentJobsFinished();
  }

  /** Closes the queue without waiting for running jobs (they are run again after their lock ends). */
  async closeNow(): Promise<void> {
    await this.queue.close(true);
  }

  private process<T>(name: string, concurrency: number, handler: (job: QueuedJob<T>) => Promise<void>): void {
    void this.queue.process(name, concurrency, (job: Job<T>) =>
      handler({ id: String(job.id), data: job.data, attempt: job.attemptsMade + 1 }),
    );
  }

  private flush(): void {
    if (this.adding || this.flushScheduled || this.outbox.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const jobs = this.outbox;
      this.outbox = [];
      this.adding = true;
      this.queue
        .addBulk(jobs)
        .catch((e: unknown) => {
          this.logger.warn({ err: e, jobs: jobs.length }, 'enqueue failed; the reconciler will add the jobs');
        })
        .finally(() => {
          this.adding = false;
          this.flush();
        });
    });
  }
}
