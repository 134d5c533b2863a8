import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
import type { BulkFilter, Operation } from '../api/types';
import { ConfirmDialog, Notice, usePoll } from './common';

// "Retry all N failed" for one flow: the count comes from a dry run of the bulk operation (nothing
// is done), a confirmation starts it, and its progress is read from GET /operations/{id} until done.

/** A datetime-local value (the browser's time zone) as an ISO time, or undefined when empty. */
function iso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function BulkRetry(props: { flowId: string; refreshKey: number; onProgress: () => void }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [count, setCount] = useState<number | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [op, setOp] = useState<Operation | null>(null);
  const [error, setError] = useState('');

  const filter = (): BulkFilter => ({
    flowId: props.flowId,
    status: ['failed'],
    from: iso(from),
    to: iso(to),
  });

  useEffect(() => {
    let live = true;
    api.bulkCount('retry', filter()).then(
      (r) => {
        if (!live) return;
        setCount(r.matched);
        setError('');
      },
      (e: unknown) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, [props.flowId, from, to, props.refreshKey]);

  const running = op !== null && op.status === 'running';
  usePoll(
    async () => {
      if (!op) return;
      try {
        const next = await api.operation(op.id);
        setOp(next);
        props.onProgress();
      } catch (e) {
        setError(errorText(e));
      }
    },
    500,
    running,
  );

  const start = async () => {
    setConfirm(false);
    setError('');
    try {
      const { operationId } = await api.bulkStart('retry', filter());
      setOp(await api.operation(operationId));
    } catch (e) {
      setError(`Not started: ${errorText(e)}`);
    }
  };

  const n = count ?? 0;
  const handled = op ? op.done + op.failed : 0;
  return (
    <section class="card bulk" aria-labelledby="bulk-title">
      <h2 id="bulk-title">Retry failed runs</h2>
      <p class="hint">
        Each failed run of this flow resumes at the step that failed, as Retry does on one run. Narrow it to
        when they were received (your time zone), or leave both empty for all of them.
      </p>
      <div class="toolbar">
        <div class="field inline-field">
          <label for="bulk-from">Received from</label>
          <input
            id="bulk-from"
            type="datetime-local"
            value={from}
            onInput={(e) => setFrom(e.currentTarget.value)}
          />
        </div>
        <div class="field inline-field">
          <label for="bulk-to">until (not included)</label>
          <input
            id="bulk-to"
            type="datetime-local"
            value={to}
            onInput={(e) => setTo(e.currentTarget.value)}
          />
        </div>
        <button
          type="button"
          disabled={count === null || n === 0 || running}
          onClick={() => setConfirm(true)}
        >
          {count === null
            ? 'Counting failed runs…'
            : n === 0
              ? 'No failed runs to retry'
              : `Retry all ${n} failed`}
        </button>
      </div>
      <Notice kind="error">{error}</Notice>
      {op ? (
        <div class="operation" data-operation={op.id}>
          <label for="bulk-progress">
            {op.status === 'running'
              ? `Retrying: ${handled} of ${op.matched}`
              : op.status === 'done'
                ? `Done: ${op.done} of ${op.matched} retried`
                : `Cancelled after ${handled} of ${op.matched}`}
            {op.failed ? `, ${op.failed} could no longer be retried` : ''}
          </label>
          <progress id="bulk-progress" class="progress" max={Math.max(op.matched, 1)} value={handled} />
          {running ? (
            <button
              type="button"
              class="secondary"
              onClick={() =>
                void api.cancelOperation(op.id).then(setOp, (e: unknown) => setError(errorText(e)))
              }
            >
              Stop retrying
            </button>
          ) : null}
        </div>
      ) : null}
      <ConfirmDialog
        open={confirm}
        title={`Retry all ${n} failed runs?`}
        confirmLabel={`Retry ${n} runs`}
        onConfirm={() => void start()}
        onCancel={() => setConfirm(false)}
      >
        <p>
          {n} failed run{n === 1 ? '' : 's'} of this flow
          {from || to ? ' received in the chosen time range' : ''} resume at the step that failed, in the
          background. Runs that fail after this count are not included.
        </p>
      </ConfirmDialog>
    </section>
  );
}
