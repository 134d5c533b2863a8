import { getPriority } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { workerResourceLimits } from 'src/runtime/process-tuning';

describe('lowerThreadPriority', () => {
  // Per-thread nice values and /proc/thread-self are Linux's.
  const linuxOnly = process.platform === 'linux' ? it : it.skip;

  linuxOnly('lowers the calling thread only, not the process', async () => {
    const module = join(__dirname, 'process-tuning.ts');
    const register = join(__dirname, '..', '..', 'test', 'support', 'register.js');
    // The thread loads the real module through the test suite's TypeScript hook.
    const worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      require(workerData.register);
      const { lowerThreadPriority } = require(workerData.module);
      const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
      const lowered = lowerThreadPriority(7);
      parentPort.postMessage({ tid, lowered });
      setTimeout(() => {}, 2000);
      `,
      { eval: true, workerData: { module, register } },
    );
    try {
      const reply = await new Promise<{ tid: number; lowered: boolean }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(reply.lowered).toBe(true);
      expect(reply.tid).not.toBe(process.pid);
      expect(getPriority(reply.tid)).toBe(7);
      expect(getPriority(process.pid)).toBe(0);
    } finally {
      await worker.terminate();
    }
  });
});

describe('workerResourceLimits', () => {
  it("gives a worker thread the young generation of the command line's --max-semi-space-size, else V8's own", () => {
    expect(workerResourceLimits(['--max-semi-space-size=4'])).toEqual({ maxYoungGenerationSizeMb: 12 });
    expect(workerResourceLimits(['--heap-growing-percent=25'])).toEqual({});
    expect(workerResourceLimits([])).toEqual({});
  });
});
