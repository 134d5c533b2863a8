import { enclosingItems, loopPath, parseLoopPath } from 'src/executions/loops/loop-path';

describe('loop paths', () => {
  it('a main-lane loop is its step id; a nested one names the item it runs in', () => {
    expect(loopPath('outer')).toBe('outer');
    expect(loopPath('inner', { loop: 'outer', idx: 3 })).toBe('outer[3].inner');
    expect(loopPath('c', { loop: 'a[1].b', idx: 0 })).toBe('a[1].b[0].c');
  });

  it('parses back to the step and the enclosing item', () => {
    expect(parseLoopPath('outer')).toEqual({ stepId: 'outer', parent: null });
    expect(parseLoopPath('outer[3].inner')).toEqual({ stepId: 'inner', parent: { loop: 'outer', idx: 3 } });
    expect(parseLoopPath('a[1].b[20].c')).toEqual({ stepId: 'c', parent: { loop: 'a[1].b', idx: 20 } });
  });

  it('lists the items around a run, outermost first', () => {
    expect(enclosingItems('outer')).toEqual([]);
    expect(enclosingItems('a[1].b[0].c')).toEqual([
      { loop: 'a', idx: 1 },
      { loop: 'a[1].b', idx: 0 },
    ]);
  });
});
