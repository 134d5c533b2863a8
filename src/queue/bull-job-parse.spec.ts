import { createRequire } from 'node:module';
import { skipBullStacktraceParseError } from 'src/queue/bull-job-parse';

const load = createRequire(__filename);
const Job = load('bull/lib/job') as { fromJSON(q: unknown, json: object, id?: string): any };
const utils = load('bull/lib/utils') as { errorObject: { value: unknown } };
const queue = { toKey: (k: string) => `q:${k}` };
const raw = (extra: object = {}) => ({
  id: '7',
  name: 'run',
  data: '{"n":1}',
  opts: '{}',
  timestamp: '1',
  ...extra,
});

describe('skipBullStacktraceParseError', () => {
  it('reads a job that never failed without Bull throwing and catching a SyntaxError', () => {
    const sentinel = { untouched: true };
    utils.errorObject.value = sentinel;
    const before = Job.fromJSON(queue, raw());
    // Unpatched, Bull's tryCatch records the SyntaxError of JSON.parse(undefined) here.
    expect(utils.errorObject.value).toBeInstanceOf(SyntaxError);
    expect(before.stacktrace).toEqual([]);

    skipBullStacktraceParseError();
    skipBullStacktraceParseError(); // twice is harmless
    utils.errorObject.value = sentinel;
    const job = Job.fromJSON(queue, raw());
    expect(utils.errorObject.value).toBe(sentinel);
    expect(job.stacktrace).toEqual([]);
    expect(job.data).toEqual({ n: 1 });
    expect(job.id).toBe('7');
  });

  it('still reads a stack trace that is there', () => {
    skipBullStacktraceParseError();
    expect(Job.fromJSON(queue, raw({ stacktrace: '["boom"]' })).stacktrace).toEqual(['boom']);
  });
});
