import { filterSql, pageSql, rangeProblem } from 'src/executions/execution-filter';

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

describe('pageSql', () => {
  it('reads newest first through the createdAt order when no status is asked for', () => {
    const { text, values } = pageSql({ flowId: 'f' }, { at: '2030-01-01T00:00:00.000Z', id: 'i' }, 51);
    expect(text).not.toContain('LATERAL');
    // The cursor row's own created_at (microseconds), the cursor's millisecond time only if it is gone.
    expect(text).toContain(
      '(e.created_at, e.id) < (COALESCE((SELECT created_at FROM executions WHERE id = $2::uuid), $3::timestamptz), $2::uuid)',
    );
    expect(text).toContain('ORDER BY e.created_at DESC, e.id DESC LIMIT $4');
    expect(values).toEqual(['f', 'i', '2030-01-01T00:00:00.000Z', 51]);
  });

  it('scans each status on its own and merges the pages, each status once', () => {
    const { text, values } = pageSql({ status: ['failed', 'cancelled', 'failed'], to: 't' }, undefined, 11);
    expect(text).toContain('unnest($3::text[])');
    expect(text).toContain('WHERE e.status = s.status AND e.created_at < $1::timestamptz');
    expect(text).toContain('ORDER BY p.created_at DESC, p.id DESC LIMIT $2');
    expect(values).toEqual(['t', 11, ['failed', 'cancelled']]);
  });
});

describe('rangeProblem', () => {
  it('wants from before to', () => {
    expect(rangeProblem({ from: '2030-01-01', to: '2030-01-02' })).toBeNull();
    expect(rangeProblem({ from: '2030-01-02', to: '2030-01-01' })).toBe('from must be before to');
    expect(rangeProblem({ from: '2030-01-01' })).toBeNull();
  });
});
