import { retryDelayMs, MAX_RETRY_MS } from 'src/brokers/consumers/broker-consumer';
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

describe('nextStatus and retryDelayMs', () => {
  it('keeps since while the state stays, moves it when the state changes', () => {
    const first = nextStatus(undefined, 'error', 'a');
    expect(nextStatus(first, 'error', 'b')).toEqual({ state: 'error', error: 'b', since: first.since });
    expect(nextStatus(first, 'connected').state).toBe('connected');
  });

  it('backs off exponentially and never waits more than 30 s', () => {
    expect(retryDelayMs(0, 0.5)).toBe(500);
    expect(retryDelayMs(3, 0.5)).toBe(4_000);
    for (let n = 0; n < 40; n++) expect(retryDelayMs(n, 1)).toBeLessThanOrEqual(MAX_RETRY_MS);
  });
});
