import { jsonb, jsonNestsDeeperThan, mayHoldSurrogateEscape, unstorableReason } from 'src/common/jsonb';

describe('jsonb', () => {
  it('replaces NUL characters and leaves escaped backslashes alone', () => {
    expect(JSON.parse(jsonb({ a: 'x\u0000y', b: '\\u0000', c: '\\\u0000' }))).toEqual({
      a: 'x\ufffdy',
      b: '\\u0000',
      c: '\\\ufffd',
    });
    expect(jsonb(undefined)).toBe('null');
    expect(jsonb({ n: 1 })).toBe('{"n":1}');
  });

  it('replaces lone surrogates, keeps pairs and escaped text that only looks like an escape', () => {
    expect(JSON.parse(jsonb({ a: 'x\ud800y', b: '😀', c: '\\ud800', ['\udfff']: 1 }))).toEqual({
      a: 'x\ufffdy',
      b: '😀',
      c: '\\ud800',
      ['\ufffd']: 1,
    });
  });
});

describe('jsonNestsDeeperThan', () => {
  it('counts nesting outside strings only', () => {
    expect(jsonNestsDeeperThan('[[[]]]', 3)).toBe(false);
    expect(jsonNestsDeeperThan('[[[[]]]]', 3)).toBe(true);
    expect(jsonNestsDeeperThan('{"a":"[[[[[[\\"[[[["}', 1)).toBe(false);
    expect(jsonNestsDeeperThan(`${'['.repeat(10_000)}${']'.repeat(10_000)}`)).toBe(true);
  });
});

describe('unstorableReason', () => {
  it('names the path of a lone surrogate in a value or a key, and passes pairs', () => {
    expect(unstorableReason({ a: ['ok', '😀', { b: 'x\ud800' }] })).toBe(
      'a[2].b holds a lone UTF-16 surrogate (not valid Unicode)',
    );
    expect(unstorableReason({ ['\udc00']: 1 })).toMatch(/^key .* at top level holds a lone/);
    expect(unstorableReason({ a: '😀', b: [1, null, true] })).toBeUndefined();
    expect(unstorableReason('\ud83d')).toMatch(/lone/);
    expect(mayHoldSurrogateEscape('{"x":"\\ud800"}')).toBe(true);
    expect(mayHoldSurrogateEscape('{"x":"\\u00e9"}')).toBe(false);
  });
});
