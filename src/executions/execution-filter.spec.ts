import { filterSql, rangeProblem } from 'src/executions/execution-filter';

describe('filterSql', () => {
  it('binds every value as a parameter, numbered from firstParam', () => {
    const { conditions, values } = filterSql(
      { flowId: 'f', status: ['failed'], from: 'a', to: 'b', stepId: "x' OR 1=1", error: '50%' },
      { firstParam: 3 },
    );
    expect(values).toEqual(['f', ['failed'], 'a', 'b', "x' OR 1=1", '50%']);
    expect(conditions.join(' AND ')).toBe(
      [
        'e.flow_id = $3::uuid',
        'e.status = ANY($4::text[])',
        'e.created_at >= $5::timestamptz',
        'e.created_at < $6::timestamptz',
        "e.steps -> $7::text ->> 'status' IN ('failed', 'running', 'waiting')",
        'strpos(lower(e.error), lower($8::text)) > 0',
      ].join(' AND '),
    );
  });

  it('leaves status out when asked to', () => {
    expect(filterSql({ status: ['failed'] }, { withStatus: false })).toEqual({ conditions: [], values: [] });
  });
});

describe('rangeProblem', () => {
  it('wants from before to', () => {
    expect(rangeProblem({ from: '2030-01-01', to: '2030-01-02' })).toBeNull();
    expect(rangeProblem({ from: '2030-01-02', to: '2030-01-01' })).toBe('from must be before to');
    expect(rangeProblem({ from: '2030-01-01' })).toBeNull();
  });
});
