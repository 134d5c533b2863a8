import jsonata from 'jsonata';
import { plainPathArray } from 'src/executions/loops/loop-items';

describe('plainPathArray (a forEach items path read without JSONata)', () => {
  const input = {
    event: {
      body: {
        items: ['a', 'b'],
        one: ['x'],
        none: [],
        nested: [[1, 2], [3]],
        objects: [{ id: 1 }, { id: 2 }],
        scalar: 5,
        list: [{ items: [1] }],
      },
    },
    steps: { prev: { rows: [1, 2, 3] } },
  };

  it.each([
    'event.body.items',
    'event.body.one',
    'event.body.none',
    'event.body.nested',
    'event.body.objects',
    ' steps.prev.rows ',
  ])('answers what JSONata answers for %s', async (path) => {
    const direct = plainPathArray(path, input);
    expect(direct).toBeDefined();
    expect(direct).toEqual(await jsonata(path).evaluate(input));
  });

  it.each([
    'event.body.scalar',
    'event.body.missing',
    'event.body.list.items',
    '$.event.body.items',
    'event.body.items[0]',
    'event.`body`.items',
    'event.body.true',
    '$count(event.body.items)',
    'event.body.items ~> $map(function($v) { $v })',
  ])('leaves %s to JSONata', (path) => {
    expect(plainPathArray(path, input)).toBeUndefined();
  });
});
