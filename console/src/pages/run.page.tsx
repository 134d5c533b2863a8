import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
import { ACTIVE_STATUSES, type Execution } from '../api/types';
import { ConfirmDialog, JsonBlock, Notice, PageTitle, StatusBadge, usePoll } from '../components/common';
import { StepView } from '../components/run-steps';
import { between, formatDuration, formatTime } from '../lib/format';
import { Link, navigate } from '../router';

/** One execution as a timeline of steps and attempts; refreshes every second while it is live. */
export function RunPage(props: { id: string }) {
  const [run, setRun] = useState<Execution | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [tick, setTick] = useState(0);

  const load = async () => {
    try {
      setRun(await api.execution(props.id));
      setTick((n) => n + 1);
      setError('');
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    setRun(null);
    void load();
  }, [props.id]);
  const live = run !== null && ACTIVE_STATUSES.includes(run.status);
  usePoll(load, 1000, live);

  const act = async (what: 'retry' | 'replay' | 'cancel') => {
    setNotice('');
    try {
      if (what === 'replay') {
        const { executionId } = await api.replay(props.id);
        navigate(`/runs/${executionId}`);
        return;
      }
      if (what === 'retry') await api.retry(props.id);
      else await api.cancel(props.id);
      setNotice(what === 'retry' ? 'Retrying from the failed step…' : 'Cancelled.');
      await load();
    } catch (e) {
      setNotice(`Failed: ${errorText(e)}`);
    }
  };

  if (!run) return error ? <Notice kind="error">{error}</Notice> : <p role="status">Loading…</p>;
  return (
    <>
      <div class="page-head">
        <PageTitle>Run {run.id.slice(0, 8)}</PageTitle>
        <nav aria-label="This run" class="page-links">
          <Link href={`/flows/${run.flowId}/runs`}>All runs of this flow</Link>
          <Link href={`/flows/${run.flowId}`}>Edit flow</Link>
        </nav>
      </div>
      <section class="card run-head" aria-label="Summary">
        <p class="run-status" role="status">
          Status: <StatusBadge status={run.status} />
          {live ? <span class="hint"> (live: refreshing every second)</span> : null}
        </p>
        <dl class="facts">
          <div>
            <dt>Flow version</dt>
            <dd>v{run.flowVersion}</dd>
          </div>
          <div>
            <dt>Received</dt>
            <dd>{formatTime(run.createdAt)}</dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>{formatTime(run.startedAt)}</dd>
          </div>
          <div>
            <dt>Finished</dt>
            <dd>{formatTime(run.finishedAt)}</dd>
          </div>
          <div>
            <dt>Received → finished</dt>
            <dd>{formatDuration(between(run.createdAt, run.finishedAt))}</dd>
          </div>
        </dl>
        {run.error ? <p class="error-text">Error: {run.error}</p> : null}
        <div class="actions">
          <button
            type="button"
            disabled={run.status !== 'failed'}
            onClick={() => void act('retry')}
            title="Resume at the step that failed"
          >
            Retry
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => void act('replay')}
            title="A new run of the flow's current version with the same event"
          >
            Replay
          </button>
          <button
            type="button"
            class="secondary danger-text"
            disabled={!live}
            onClick={() => setConfirmCancel(true)}
          >
            Cancel
          </button>
        </div>
        <Notice>{notice}</Notice>
      </section>
      <h2 class="visually-hidden" id="timeline-title">
        Steps
      </h2>
      <ol class="timeline" aria-labelledby="timeline-title">
        {run.steps.map((s, i) => (
          <StepView key={s.id} step={s} index={i} ctx={{ runId: run.id, tick }} />
        ))}
      </ol>
      {run.onError?.length ? (
        <section aria-labelledby="on-error-title">
          <h2 id="on-error-title">On error</h2>
          <p class="hint">The flow's onError steps, run once when the execution was about to end failed.</p>
          <ol class="timeline on-error" aria-labelledby="on-error-title">
            {run.onError.map((s, i) => (
              <StepView key={s.id} step={s} index={i} ctx={{ runId: run.id, tick }} />
            ))}
          </ol>
        </section>
      ) : null}
      <details class="card">
        <summary>Event</summary>
        <JsonBlock value={run.event} label="Event" />
      </details>
      <ConfirmDialog
        open={confirmCancel}
        title="Cancel this run?"
        confirmLabel="Cancel run"
        danger
        onConfirm={() => {
          setConfirmCancel(false);
          void act('cancel');
        }}
        onCancel={() => setConfirmCancel(false)}
      >
        <p>
          Its remaining steps become cancelled. A request already on the wire finishes, but nothing after it
          runs.
        </p>
      </ConfirmDialog>
    </>
  );
}
