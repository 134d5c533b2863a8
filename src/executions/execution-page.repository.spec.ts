import { pageSql } from 'src/executions/execution-page.repository';

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
