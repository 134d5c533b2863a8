import {
  keyedInsert,
  keyedLeaders,
  KeyedRow,
  NewExecution,
  storableKey,
} from 'src/executions/execution.repository';

function keyed(id: string, flowId: string, key: string, extra: Partial<NewExecution> = {}): KeyedRow {
  return {
    key,
    row: {
      id,
      flowId,
      flowVersion: 1,
      status: 'queued',
      event: { id: `e-${id}`, type: 'webhook', receivedAt: '2026-01-01T00:00:00.000Z', body: {} },
      depth: 0,
      jobId: `job-${id}`,
      createdAt: new Date('2026-01-01T00:00:00.000Z'),
      ...extra,
    },
  };
}

describe('keyedLeaders', () => {
  it('writes the first member of each (flow, key) and answers the others with it', () => {
    const items = [
      keyed('1', 'f1', 'b'),
      keyed('2', 'f1', 'a'),
      keyed('3', 'f1', 'b'),
      keyed('4', 'f2', 'b'),
      keyed('5', 'f1', 'a'),
    ];
    const { leaders, leaderOf } = keyedLeaders(items);
    expect(leaders.map((l) => l.row.id)).toEqual(['2', '1', '4']);
    expect(leaderOf.map((i) => leaders[i].row.id)).toEqual(['1', '2', '1', '4', '2']);
  });

  it('takes keys in one order whatever order they came in (no deadlock between two batches)', () => {
    const a = keyedLeaders([keyed('1', 'f', 'x'), keyed('2', 'f', 'y'), keyed('3', 'e', 'z')]);
    const b = keyedLeaders([keyed('4', 'f', 'y'), keyed('5', 'e', 'z'), keyed('6', 'f', 'x')]);
    const order = (l: KeyedRow[]) => l.map((r) => `${r.row.flowId}/${r.key}`);
    expect(order(a.leaders)).toEqual(['e/z', 'f/x', 'f/y']);
    expect(order(b.leaders)).toEqual(order(a.leaders));
  });

  it('a flow id that is a prefix of another does not merge keys', () => {
    const { leaders } = keyedLeaders([keyed('1', 'f', 'ab'), keyed('2', 'fa', 'b')]);
    expect(leaders).toHaveLength(2);
  });
});

describe('keyedInsert', () => {
  it('sends one document: finished_at, error and concurrency key as the plain insert writes them', () => {
    const { values } = keyedInsert([
      keyed('1', 'f', 'k1'),
      keyed('2', 'f', 'k2', { status: 'failed', error: 'boom', jobId: null }),
      keyed('3', 'f', 'k3', { concurrencyKey: 'g', jobId: null }),
    ]);
    const doc = JSON.parse(values[0] as string);
    expect(doc.map((d: any) => [d.ord, d.key, d.finished_at, d.error, d.concurrency_key])).toEqual([
      [0, 'k1', null, null, null],
      [1, 'k2', '2026-01-01T00:00:00.000Z', 'boom', null],
      [2, 'k3', null, null, 'g'],
    ]);
  });
});

describe('storableKey', () => {
  it('turns NUL and lone surrogates into U+FFFD and keeps pairs', () => {
    expect(storableKey('a\u0000b\ud800c\udfff😀')).toBe('a\ufffdb\ufffdc\ufffd😀');
  });
});
