import { aggregateStatus, nextStatus } from 'src/brokers/trigger-status';

describe('aggregateStatus', () => {
  const at = 1_000_000;
  it('shows the worst state of the live reports, since the earliest of them', () => {
    expect(
      aggregateStatus(
        [
          { state: 'connected', since: '2030-01-01T00:00:00.000Z', at },
          { state: 'error', error: 'ECONNREFUSED', since: '2030-01-01T00:00:05.000Z', at },
          { state: 'error', error: 'older', since: '2030-01-01T00:00:02.000Z', at },
        ],
        at,
        30_000,
      ),
    ).toEqual({ state: 'error', error: 'older', since: '2030-01-01T00:00:02.000Z' });
  });

  it('ignores reports of processes that stopped reporting; none left is null', () => {
    const stale = { state: 'error' as const, since: '2030-01-01T00:00:00.000Z', at: at - 60_000 };
    expect(aggregateStatus([stale], at, 30_000)).toBeNull();
    expect(
      aggregateStatus([stale, { state: 'connected', since: '2030-01-01T00:00:09.000Z', at }], at, 30_000),
    ).toEqual({ state: 'connected', since: '2030-01-01T00:00:09.000Z' });
  });
});

describe('nextStatus', () => {
  it('keeps since while the state stays, moves it when the state changes', () => {
    const first = nextStatus(undefined, 'error', { error: 'a' });
    expect(nextStatus(first, 'error', { error: 'b' })).toEqual({
      state: 'error',
      error: 'b',
      since: first.since,
    });
    expect(nextStatus(first, 'connected').state).toBe('connected');
  });

  it('tells the next attempt while the consumer waits, and nothing of it once connected', () => {
    const waiting = nextStatus(undefined, 'error', {
      error: 'connect ECONNREFUSED 127.0.0.1:5672',
      nextAttemptAt: '2030-01-01T00:00:04.000Z',
    });
    expect(waiting).toEqual({
      state: 'error',
      error: 'connect ECONNREFUSED 127.0.0.1:5672',
      since: expect.any(String),
      nextAttemptAt: '2030-01-01T00:00:04.000Z',
    });
    expect(nextStatus(waiting, 'connected')).toEqual({ state: 'connected', since: expect.any(String) });
  });

  it('keeps the next attempt of the report it shows', () => {
    const at = 1_000_000;
    expect(
      aggregateStatus(
        [
          { state: 'connected', since: '2030-01-01T00:00:00.000Z', at },
          {
            state: 'error',
            error: 'x',
            since: '2030-01-01T00:00:01.000Z',
            nextAttemptAt: '2030-01-01T00:00:09.000Z',
            at,
          },
        ],
        at,
        30_000,
      ),
    ).toEqual({
      state: 'error',
      error: 'x',
      since: '2030-01-01T00:00:01.000Z',
      nextAttemptAt: '2030-01-01T00:00:09.000Z',
    });
  });
});
