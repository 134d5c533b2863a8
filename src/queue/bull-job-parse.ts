import { createRequire } from 'node:module';

interface RawJob {
  stacktrace?: string | null;
}
interface BullJobClass {
  fromJSON(queue: unknown, json: RawJob, jobId?: string): unknown;
  [PATCHED]?: true;
}

const PATCHED = Symbol.for('hookflow.bullJobParse');

/**
 * Bull 4 turns every job it fetches into a Job with `JSON.parse(json.stacktrace)` inside a
 * try/catch. A job that never failed has no `stacktrace` field, so the parse throws, and building
 * that SyntaxError (with its stack) was ~3 % of the worker thread's profile, once per job. An
 * absent field is handed over as '[]' — what Bull makes of the failed parse anyway. Idempotent.
 */
export function skipBullStacktraceParseError(): void {
  const Job = createRequire(__filename)('bull/lib/job') as BullJobClass;
  if (Job[PATCHED]) return;
  const fromJSON = Job.fromJSON.bind(Job);
  Job.fromJSON = (queue, json, jobId) => {
    if (json.stacktrace == null) json.stacktrace = '[]';
    return fromJSON(queue, json, jobId);
  };
  Job[PATCHED] = true;
}
