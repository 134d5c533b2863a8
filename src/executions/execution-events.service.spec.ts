import { ExecutionEvents, FinishedExecution } from 'src/executions/execution-events.service';

const run = (id: string): FinishedExecution => ({ id, flowId: 'flow', flowVersion: 1 });

describe('ExecutionEvents', () => {
  it('tells a waiter in this process and relays nothing', async () => {
    const events = new ExecutionEvents();
    const relayed: string[] = [];
    events.relayWith((e) => relayed.push(e.id));
    const waiter = events.waitFor('a', 5000);
    events.finished(run('a'), 'succeeded');
    expect(await waiter.promise).toBe('succeeded');
    expect(relayed).toEqual([]);
  });

  it('relays when nobody waits here, and delivers relayed news to a waiter', async () => {
    const events = new ExecutionEvents();
    const relayed: Array<[string, string]> = [];
    events.relayWith((e, status) => relayed.push([e.id, status]));
    events.finished(run('b'), 'failed');
    expect(relayed).toEqual([['b', 'failed']]);

    const waiter = events.waitFor('c', 5000);
    events.deliver('c', 'failed');
    expect(await waiter.promise).toBe('failed');
  });

  it('answers null when time runs out or the wait is cancelled, and forgets the waiter', async () => {
    const events = new ExecutionEvents();
    const relayed: string[] = [];
    events.relayWith((e) => relayed.push(e.id));
    expect(await events.waitFor('d', 10).promise).toBeNull();
    const cancelled = events.waitFor('e', 5000);
    cancelled.cancel();
    expect(await cancelled.promise).toBeNull();
    events.finished(run('d'), 'succeeded');
    events.finished(run('e'), 'succeeded');
    expect(relayed).toEqual(['d', 'e']);
  });
});
