import { compileExpression, ExpressionSyntaxError, isTruthy } from 'src/expressions/expression';
import {
  compileTemplate,
  compileUrlTemplate,
  splitTemplate,
  TemplateSyntaxError,
} from 'src/expressions/template';

const input = {
  event: { body: { name: 'Ada', n: 3, tags: ['a', 'b'], nested: { x: 1 } } },
  steps: { summary: { who: 'Ada', n: 2 } },
  flow: { id: 'f', name: 'flow', version: 1 },
  execution: { id: 'e' },
};
const bindings = { secrets: { TOKEN: 's3cret' } };

describe('templates', () => {
  it('keeps the type of a string that is exactly one expression', async () => {
    await expect(compileTemplate('{{ event.body.n }}', 'x').render(input, bindings)).resolves.toBe(3);
    await expect(compileTemplate('{{ event.body.tags }}', 'x').render(input, bindings)).resolves.toEqual([
      'a',
      'b',
    ]);
    await expect(compileTemplate('{{ event.body.nested }}', 'x').render(input, bindings)).resolves.toEqual({
      x: 1,
    });
    await expect(
      compileTemplate('{{ event.body.missing }}', 'x').render(input, bindings),
    ).resolves.toBeNull();
  });

  it('turns each part to text when mixed with literal text', async () => {
    const t = compileTemplate(
      '{{ steps.summary.who }} pushed {{ steps.summary.n }} {{ event.body.nested }}{{ event.nope }}!',
      'x',
    );
    await expect(t.render(input, bindings)).resolves.toBe('Ada pushed 2 {"x":1}!');
  });

  it('templates objects and arrays leaf by leaf and leaves other values alone', async () => {
    const t = compileTemplate(
      { a: ['{{ event.body.name }}', 7, true, null], b: { c: 'n={{ event.body.n }}' } },
      'body',
    );
    await expect(t.render(input, bindings)).resolves.toEqual({ a: ['Ada', 7, true, null], b: { c: 'n=3' } });
  });

  it('sees $secrets', async () => {
    await expect(compileTemplate('Bearer {{ $secrets.TOKEN }}', 'x').render(input, bindings)).resolves.toBe(
      'Bearer s3cret',
    );
  });

  it('finds the end of an expression that itself holds braces and strings', () => {
    expect(splitTemplate("a{{ {'k': {'v': '}}'}} }}b")).toEqual([
      { literal: 'a' },
      { expression: " {'k': {'v': '}}'}} ", offset: 3 },
      { literal: 'b' },
    ]);
  });

  it('keeps a key named __proto__ as a plain key', async () => {
    const out = (await compileTemplate(JSON.parse('{"__proto__": {"polluted": "{{ 1 }}"}}'), 'b').render(
      input,
      bindings,
    )) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('names the field path and the position of a syntax error', () => {
    expect(() => compileTemplate({ x: 'ok {{ event.( }}' }, 'steps[1].body')).toThrow(TemplateSyntaxError);
    try {
      compileTemplate({ x: 'ok {{ event.( }}' }, 'steps[1].body');
    } catch (e) {
      expect((e as TemplateSyntaxError).path).toBe('steps[1].body.x');
      expect((e as Error).message).toMatch(/^steps\[1\]\.body\.x: .*position \d+/);
    }
    expect(() => compileTemplate('{{ unclosed', 'p')).toThrow(/no matching/);
  });
});

describe('URL templates', () => {
  const url = (
    text: string,
    body: Record<string, unknown>,
    secrets: Record<string, string> = {},
  ): Promise<unknown> =>
    compileUrlTemplate(text, 'steps[0].url').render({ ...input, event: { body } }, { secrets });

  it('percent-encodes every part spliced into literal text', async () => {
    await expect(url('http://h/echo/{{ event.body.p }}', { p: '../../secret' })).resolves.toBe(
      'http://h/echo/..%2F..%2Fsecret',
    );
    await expect(
      url('http://h/s?q={{ event.body.q }}&n={{ event.body.n }}', { q: 'a b&c=d#e', n: 7 }),
    ).resolves.toBe('http://h/s?q=a%20b%26c%3Dd%23e&n=7');
    await expect(url('http://h/u/{{ event.body.u }}/x', { u: 'ä/?' })).resolves.toBe(
      'http://h/u/%C3%A4%2F%3F/x',
    );
    await expect(url('http://h/{{ event.body.none }}', {})).resolves.toBe('http://h/');
    const sent = new URL((await url('http://h/echo/{{ event.body.p }}', { p: '../../secret' })) as string);
    expect(sent.pathname).toBe('/echo/..%2F..%2Fsecret');
  });

  it('keeps a whole-URL template, and a leading part that names the base, as they are', async () => {
    await expect(url('{{ $secrets.HOOK }}', {}, { HOOK: 'https://hooks.example/T0/B0/x?y=1' })).resolves.toBe(
      'https://hooks.example/T0/B0/x?y=1',
    );
    await expect(
      url('{{ $secrets.BASE }}/users/{{ event.body.id }}', { id: 'a/b' }, { BASE: 'https://api.example/v1' }),
    ).resolves.toBe('https://api.example/v1/users/a%2Fb');
    await expect(url('http://h/fixed', {})).resolves.toBe('http://h/fixed');
  });

  it('fails a part that would be a . or .. path segment, which no encoding keeps in place', async () => {
    await expect(url('http://h/a/{{ event.body.p }}/b', { p: '..' })).rejects.toThrow(
      'steps[0].url: a value spliced into the URL path is "..", which would change the path',
    );
    await expect(url('http://h/a/{{ event.body.p }}', { p: '.' })).rejects.toThrow(/would change the path/);
    // Not a whole segment, or in the query: harmless.
    await expect(url('http://h/a/x{{ event.body.p }}', { p: '..' })).resolves.toBe('http://h/a/x..');
    await expect(url('http://h/a?p={{ event.body.p }}', { p: '..' })).resolves.toBe('http://h/a?p=..');
  });

  it('fails a part that is not valid Unicode', async () => {
    await expect(url('http://h/{{ event.body.p }}', { p: '\ud800' })).rejects.toThrow(/not valid Unicode/);
  });
});

describe('expressions', () => {
  it('reports the position of a syntax error', () => {
    expect(() => compileExpression('event.body.(')).toThrow(ExpressionSyntaxError);
    expect(() => compileExpression('   ')).toThrow(ExpressionSyntaxError);
  });

  it('stops a runaway expression within its time bound', async () => {
    const expr = compileExpression('($f := function($n) { $n > 0 ? $f($n - 1) + $f($n - 1) : 1 }; $f(60))');
    const started = Date.now();
    await expect(expr.evaluate(input, bindings)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('stops deep recursion', async () => {
    const expr = compileExpression('($f := function($n) { $f($n + 1) }; $f(0))');
    await expect(expr.evaluate(input, bindings)).rejects.toThrow();
  });

  it('refuses huge ranges', async () => {
    await expect(compileExpression('$sum([1..100000000])').evaluate(input, bindings)).rejects.toThrow();
  });

  it("follows JSONata's truth", () => {
    expect([undefined, null, false, 0, '', [], {}, [0, '']].map(isTruthy)).toEqual(Array(8).fill(false));
    expect([true, 1, 'x', [0, 1], { a: 1 }].map(isTruthy)).toEqual(Array(5).fill(true));
  });
});
