import { availableParallelism } from 'node:os';
import { defaultWorkerThreads, loadConfig } from 'src/config/env';

describe('WORKER_THREADS', () => {
  it('defaults to one thread on two cores or fewer, a worker thread beside it above that', () => {
    expect([1, 2, 3, 4, 16].map(defaultWorkerThreads)).toEqual([0, 0, 1, 1, 1]);
  });

  it('takes the default for this machine when unset, and a value given', () => {
    expect(loadConfig({}).WORKER_THREADS).toBe(defaultWorkerThreads(availableParallelism()));
    expect(loadConfig({ WORKER_THREADS: '0' }).WORKER_THREADS).toBe(0);
    expect(loadConfig({ WORKER_THREADS: '2' }).WORKER_THREADS).toBe(2);
    expect(() => loadConfig({ WORKER_THREADS: '-1' })).toThrow(/WORKER_THREADS/);
  });
});
