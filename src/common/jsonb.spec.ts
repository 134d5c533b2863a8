import { jsonb, jsonNestsDeeperThan } from 'src/common/jsonb';

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
});

describe('jsonNestsDeeperThan', () => {
  it('counts nesting outside strings only', () => {
    expect(jsonNestsDeeperThan('[[[]]]', 3)).toBe(false);
    expect(jsonNestsDeeperThan('[[[[]]]]', 3)).toBe(true);
    expect(jsonNestsDeeperThan('{"a":"[[[[[[\\"[[[["}', 1)).toBe(false);
    expect(jsonNestsDeeperThan(`${'['.repeat(10_000)}${']'.repeat(10_000)}`)).toBe(true);
  });
});
