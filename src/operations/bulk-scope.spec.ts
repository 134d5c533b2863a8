import { actionScope, storedFilter } from 'src/operations/bulk-scope';

describe('actionScope', () => {
  it('keeps only failed executions for a retry', () => {
    expect(actionScope('retry', {})).toEqual({ status: ['failed'] });
    expect(actionScope('retry', { status: ['failed', 'cancelled'], flowId: 'f' })).toEqual({
      status: ['failed'],
      flowId: 'f',
    });
    expect(actionScope('retry', { status: ['succeeded'] })).toEqual({ status: [] });
  });

  it('keeps only active executions for a cancel', () => {
    expect(actionScope('cancel', {})).toEqual({ status: ['batching', 'queued', 'running', 'waiting'] });
    expect(actionScope('cancel', { status: ['waiting', 'waiting', 'failed'] })).toEqual({
      status: ['waiting'],
    });
  });

  it('lets a replay act on any status', () => {
    expect(actionScope('replay', {})).toEqual({});
    expect(actionScope('replay', { status: ['succeeded'] })).toEqual({ status: ['succeeded'] });
  });
});

describe('storedFilter', () => {
  it('drops fields that were not given', () => {
    expect(storedFilter({ flowId: 'f', status: undefined, error: 'x' })).toEqual({ flowId: 'f', error: 'x' });
  });
});
