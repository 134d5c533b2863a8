import { ExecutionOutcomes, FinishedExecution } from 'src/executions/execution-outcomes.service';

const run = (id: string): FinishedExecution => ({ id, flowId: 'flow', flowVersion: 1 });

describe('ExecutionOutcomes', () => {
  it('tells a waiter in this process and relays nothing', async () => {
    const outcomes = new ExecutionOutcomes();
    const relayed: string[] = [];
    outcomes.relayWith((e) => relayed.push(e.id));
    const waiter = outcomes.waitFor('a', 5000);
    outcomes.finished(run('a'), 'succeeded');
    expect(await waiter.promise).toBe('succeeded');
    expect(relayed).toEqual([]);
  });

  it('relays when nobody waits here, and delivers relayed news to a waiter', async () => {
    const outcomes = new ExecutionOutcomes();
    const relayed: Array<[string, string]> = [];
    outcomes.relayWith((e, status) => relayed.push([e.id, status]));
    outcomes.finished(run('b'), 'failed');
    expect(relayed).toEqual([['b', 'failed']]);

    const waiter = outcomes.waitFor('c', 5000);
    outcomes.deliver('c', 'failed');
    expect(await waiter.promise).toBe('failed');
  });

  it('answers null when time runs out or the wait is cancelled, and forgets the waiter', async () => {
    const outcomes = new ExecutionOutcomes();
    const relayed: string[] = [];
    outcomes.relayWith((e) => relayed.push(e.id));
    expect(await outcomes.waitFor('d', 10).promise).toBeNull();
    const cancelled = outcomes.waitFor('e', 5000);
    cancelled.cancel();
    expect(await cancelled.promise).toBeNull();
    outcomes.finished(run('d'), 'succeeded');
    outcomes.finished(run('e'), 'succeeded');
    expect(relayed).toEqual(['d', 'e']);
  });
});
