import {
  closeBatchJobId,
  closeBatchJobOptions,
  firstStepOf,
  itemJobId,
  jobSeq,
  NO_STEP,
  stepJobId,
  stepJobOptions,
  stepOfJobId,
} from 'src/queue/queue.constants';

const ID = '0b5c3f36-7a43-4d0e-9a4f-3c1d2e8b9f10';

describe('job ids', () => {
  it('reads the step and the sequence back from both shapes', () => {
    expect(stepOfJobId(stepJobId(ID, 'send', 3))).toBe('send');
    expect(jobSeq(stepJobId(ID, 'send', 3))).toBe(3);
    expect(stepOfJobId(itemJobId(ID, 'outer[2].inner', 7, 'post', 1712345678901))).toBe('post');
    expect(jobSeq(itemJobId(ID, 'outer[2].inner', 7, 'post', 1712345678901))).toBe(1712345678901);
    expect(stepOfJobId(stepJobId(ID, NO_STEP, 1))).toBe(NO_STEP);
  });

  it('starts a flow at its first step, or NO_STEP when it has none', () => {
    expect(firstStepOf({ steps: [{ def: { id: 'a' } }, { def: { id: 'b' } }] })).toBe('a');
    expect(firstStepOf({ steps: [] })).toBe('_');
  });

  it('keeps the job options', () => {
    expect(stepJobOptions('j', 0)).toEqual({
      jobId: 'j',
      delay: undefined,
      attempts: 8,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: true,
    });
    expect(stepJobOptions('j', 250).delay).toBe(250);
    expect(closeBatchJobOptions(ID, 5000)).toEqual({
      jobId: closeBatchJobId(ID),
      delay: 5000,
      attempts: 8,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: true,
    });
  });
});
