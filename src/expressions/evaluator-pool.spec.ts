import { readdirSync, readFileSync } from 'node:fs';
import { EvaluatorPool } from 'src/expressions/evaluator-pool';
import {
  closeExpressionEvaluators,
  compileExpression,
  EVALUATION_TIMEOUT_MS,
  ExpressionEvaluationError,
  ExpressionInput,
} from 'src/expressions/expression';

/** Backtracks 2^n times on n characters without a match: seconds to years on the caller's thread. */
const CATASTROPHIC = '$contains(event.body.email, /^([a-zA-Z0-9]+)+@x\\.com$/)';

function inputOf(flowId: string, body: unknown = {}): ExpressionInput {
  return {
    event: { body },
    steps: {},
    flow: { id: flowId, name: flowId, version: 1 },
    execution: { id: 'e' },
  };
}

/** Threads of this process at nice 19 (Linux: field 19 of /proc/self/task/<tid>/stat). */
function lowestNiceThreads(): number {
  return readdirSync('/proc/self/task').filter((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16] === '19';
  }).length;
}

async function within(ms: number, check: () => boolean): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20)))
    if (check()) return true;
  return check();
}

const slow = inputOf('slow', { email: 'a'.repeat(33) });
const none = { secrets: {} };

describe('expression evaluator threads', () => {
  afterAll(() => closeExpressionEvaluators());

  it('answers what JSONata answers, as plain JSON', async () => {
    const input = inputOf('f', { a: 5, items: [{ n: 1 }, { n: 2 }], text: 'Ada' });
    const ev = (s: string): Promise<unknown> => compileExpression(s).evaluate(input, none);
    await expect(ev('$uppercase(event.body.text)')).resolves.toBe('ADA');
    await expect(ev('$sum(event.body.items.n)')).resolves.toBe(3);
    await expect(ev('event.body.items[n > 1]')).resolves.toEqual({ n: 2 });
    await expect(ev('event.body.nothing.here')).resolves.toBeUndefined();
    // A singleton sequence: its hidden flag made it read 5 in the job and [5] after a reload.
    const seq = await ev('event.body.a[]');
    expect(seq).toEqual([5]);
    expect(Object.keys(seq as object)).toEqual(['0']);
    expect(Object.getPrototypeOf(seq)).toBe(Array.prototype);
  });

  it('drops functions and gives an acyclic copy of $ and $$', async () => {
    const input = inputOf('f', { a: 1 });
    const ev = (s: string): Promise<unknown> => compileExpression(s).evaluate(input, none);
    await expect(ev('function($x) { $x }')).resolves.toBeUndefined();
    await expect(ev('$string')).resolves.toBeUndefined();
    await expect(ev("{ 'f': function($x) { $x }, 'n': 1, 'l': [$string, 2] }")).resolves.toEqual({
      n: 1,
      l: [null, 2],
    });
    const whole = (await ev('$')) as ExpressionInput;
    expect(whole).toEqual(input);
    expect(whole).not.toBe(input);
    expect(JSON.stringify(await ev('$$'))).toBe(JSON.stringify(input));
  });

  it('fails a value PostgreSQL cannot store, naming where', async () => {
    const input = inputOf('f');
    await expect(compileExpression('$split("😀", "")').evaluate(input, none)).rejects.toThrow(
      /cannot be stored: \[0\] holds a lone UTF-16 surrogate/,
    );
    await expect(compileExpression(`{ 'k': $split("😀", "") }`).evaluate(input, none)).rejects.toThrow(
      ExpressionEvaluationError,
    );
    // The same literal never takes the in-thread fast path.
    await expect(compileExpression('"\\ud800"').evaluate(input, none)).rejects.toThrow(
      /lone UTF-16 surrogate/,
    );
  });

  it('fails an unset secret by name, on either path, and reads set ones', async () => {
    const input = inputOf('f');
    const secrets = { secrets: { SET: 'v' } };
    await expect(compileExpression('$secrets.NC_TOKEN').evaluate(input, secrets)).rejects.toThrow(
      'secret NC_TOKEN is not set',
    );
    await expect(
      compileExpression("'Bearer ' & $lowercase($secrets.NC_TOKEN)").evaluate(input, secrets),
    ).rejects.toThrow('secret NC_TOKEN is not set');
    await expect(compileExpression('$secrets.SET').evaluate(input, secrets)).resolves.toBe('v');
    await expect(compileExpression("'Bearer ' & $secrets.SET").evaluate(input, secrets)).resolves.toBe(
      'Bearer v',
    );
  });

  it('stops a catastrophic regex at the time bound with a clear error, and stays usable', async () => {
    const started = Date.now();
    const err = await compileExpression(CATASTROPHIC)
      .evaluate(slow, none)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExpressionEvaluationError);
    expect((err as Error).message).toBe(`expression took longer than ${EVALUATION_TIMEOUT_MS} ms`);
    // Bounded: the thread was killed, not waited for (boot of a thread under ts-node included).
    expect(Date.now() - started).toBeLessThan(EVALUATION_TIMEOUT_MS + 4000);
    await expect(compileExpression('$uppercase("next")').evaluate(slow, none)).resolves.toBe('NEXT');
  });

  it('never holds the calling thread, and one slow flow does not hold the others', async () => {
    // Warm both threads so that start-up does not count.
    await Promise.all(['a', 'b'].map((f) => compileExpression('$uppercase("x")').evaluate(inputOf(f), none)));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const slowOnes = [1, 2, 3].map(() =>
      compileExpression(CATASTROPHIC)
        .evaluate(slow, none)
        .catch((e: unknown) => e),
    );
    const fastDone: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      await expect(compileExpression(`$string(${i}) & "!"`).evaluate(inputOf('fast'), none)).resolves.toBe(
        `${i}!`,
      );
      fastDone.push(Date.now() - started);
    }
    // 20 fast evaluations answer while the slow flow's first one still runs (its others wait behind it).
    expect(fastDone[fastDone.length - 1]).toBeLessThan(EVALUATION_TIMEOUT_MS);
    const results = await Promise.all(slowOnes);
    clearInterval(ticker);
    for (const r of results) expect((r as Error).message).toMatch(/took longer than/);
    // The calling thread kept ticking all along (several seconds of regex ran elsewhere).
    expect(ticks).toBeGreaterThan(50);
  });

  it('kills and replaces the thread of a timed-out evaluation, starting threads only when used', async () => {
    const pool = new EvaluatorPool();
    try {
      expect(pool.threadIds).toEqual([]);
      await expect(pool.evaluate('o', '1 + 1', {}, {})).resolves.toBe(2);
      const before = pool.threadIds;
      expect(before).toHaveLength(2);
      const killed = pool.evaluate('o', CATASTROPHIC, slow, {}).catch((e: unknown) => e);
      // Meanwhile its thread runs at the lowest CPU priority: on a saturated host it takes from nobody.
      if (process.platform === 'linux') expect(await within(900, () => lowestNiceThreads() > 0)).toBe(true);
      await expect(killed).resolves.toBeInstanceOf(ExpressionEvaluationError);
      const after = pool.threadIds;
      expect(after).toHaveLength(2);
      expect(after.filter((id) => before.includes(id))).toHaveLength(1);
      await expect(pool.evaluate('o', '$sum([1, 2, 3])', {}, {})).resolves.toBe(6);
    } finally {
      await pool.close();
    }
    expect(pool.threadIds).toEqual([]);
  });

  it('fails what is pending when closed', async () => {
    const pool = new EvaluatorPool();
    const pending = pool.evaluate('o', CATASTROPHIC, slow, {}).catch((e: unknown) => e);
    await pool.close();
    expect(((await pending) as Error).message).toMatch(/shutting down/);
  });
});
