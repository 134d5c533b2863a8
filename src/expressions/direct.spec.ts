import fc from 'fast-check';
import jsonata from 'jsonata';
import { compileDirect, FALLBACK } from 'src/expressions/direct';

const NAMES = ['a', 'b', 'id', 'items', '__proto__', 'constructor', 'toString', 'my field'];

/** Values shaped to hit every branch: nothing, null, plain values, arrays (nested too), objects. */
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, 0, -0, 1, 1.5, -7, '', 'x', '1', true, false, Infinity),
    fc.string({ maxLength: 4 }),
    fc.array(tie('v'), { maxLength: 3 }),
    fc
      .dictionary(fc.constantFrom(...NAMES), tie('v'), { maxKeys: 4 })
      .map((o) => JSON.parse(JSON.stringify(o))),
  ),
})).v;

/** JSON.parse keeps a `__proto__` key as an own property, as a webhook body would have it. */
const input = fc
  .dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 5 })
  .map((o) => ({ ...JSON.parse(JSON.stringify(o)), a: o.a }));

const quote = (n: string): string => (/^[a-z_]+$/i.test(n) ? n : `\`${n}\``);
const path = fc
  .array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 })
  .map((p) => p.map(quote).join('.'));
const literal = fc.constantFrom("'x'", "''", '1', '0', '1.5', 'true', 'false', 'null');
const simple = fc.oneof(
  path,
  literal,
  path.map((p) => `$count(${p})`),
);
const expression: fc.Arbitrary<string> = fc.oneof(
  simple,
  fc.tuple(simple, fc.constantFrom('=', '!=', '&'), simple).map(([l, op, r]) => `${l} ${op} ${r}`),
  fc
    .uniqueArray(fc.tuple(fc.constantFrom('k', 'id', 'n', 'who'), simple), {
      selector: (e) => e[0],
      maxLength: 4,
    })
    .map((pairs) => `{ ${pairs.map(([k, v]) => `'${k}': ${v}`).join(', ')} }`),
);

/** Every object's own keys, nested: what toEqual does not compare. */
function keysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(keysDeep);
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, item]) => [k, keysDeep(item)]);
  return typeof v;
}

async function viaJsonata(source: string, data: unknown): Promise<{ value?: unknown; error?: string }> {
  try {
    return { value: await jsonata(source).evaluate(data) };
  } catch (e) {
    return { error: (e as { code?: string }).code ?? String(e) };
  }
}

describe('compileDirect', () => {
  it('compiles the shapes flows use and leaves the rest to JSONata', () => {
    const compiles = (s: string): boolean => compileDirect(jsonata(s).ast()) !== null;
    for (const s of [
      'steps.shape',
      "{ 'id': event.body.id, 'n': $count(event.body.items) }",
      "event.body.action = 'opened'",
      '`my field`.x',
      "'text'",
      '$secrets.token',
      "{ 'auth': $secrets.token }",
      "'Bearer ' & $secrets.token",
      "event.a & '-' & event.b",
    ])
      expect(compiles(s)).toBe(true);
    for (const s of [
      'a[0]',
      'a.b[x = 1]',
      '$sum(a)',
      '$secrets',
      '$secrets.a.b',
      '"\\ud800"',
      "{ 'k': 1, 'k': 2 }",
      "{ '__proto__': 1 }",
      'a.{ "x": b }',
      'function($x) { $x }(1)',
      '$',
    ])
      expect(compiles(s)).toBe(false);
  });

  it('answers what JSONata answers, or hands over, on generated inputs', async () => {
    let direct = 0;
    await fc.assert(
      fc.asyncProperty(expression, input, async (source, data) => {
        const evaluate = compileDirect(jsonata(source).ast());
        if (!evaluate) return;
        const got = evaluate(data);
        if (got === FALLBACK) return;
        direct++;
        const want = await viaJsonata(source, data);
        expect(want.error).toBeUndefined();
        expect(got).toEqual(want.value);
        // toEqual takes a key holding undefined for a missing key; the key lists tell them apart.
        expect(keysDeep(got)).toEqual(keysDeep(want.value));
      }),
      { numRuns: 3000, seed: 20261123 },
    );
    // The property means little if almost everything handed over.
    expect(direct).toBeGreaterThan(1500);
  });

  it('reads $secrets from the bindings, not the input', () => {
    const evaluate = compileDirect(jsonata("{ 'h': $secrets.token, 'same': $secrets.token = 'x' }").ast())!;
    expect(evaluate({ token: 'input' }, { token: 'x' })).toEqual({ h: 'x', same: true });
    expect(evaluate({}, {})).toBe(FALLBACK);
  });

  it('hands over arrays on a path, where JSONata has sequence rules', () => {
    const evaluate = compileDirect(jsonata('a.b').ast())!;
    expect(evaluate({ a: [{ b: 1 }] })).toBe(FALLBACK);
    expect(evaluate({ a: { b: [1] } })).toBe(FALLBACK);
    expect(evaluate({ a: { b: 1 } })).toBe(1);
    expect(evaluate({ a: Object.create({ b: 1 }) })).toBeUndefined();
  });
});
