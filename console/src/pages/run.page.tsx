import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
import { ACTIVE_STATUSES, type Attempt, type Execution, type ExecutionStep } from '../api/types';
import { ConfirmDialog, JsonBlock, Notice, PageTitle, StatusBadge, usePoll } from '../components/common';
import { between, formatDuration, formatTime } from '../lib/format';
import { Link, navigate } from '../router';

interface HttpLike {
  method?: string;
  url?: string;
  status?: number;
  headers?: Record<string, unknown>;
  body?: unknown;
}

function asHttp(v: unknown): HttpLike | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function Message(props: { title: string; value: unknown; label: string }) {
  const m = asHttp(props.value);
  if (props.value === undefined) return null;
  return (
    <div class="message">
      <h5>{props.title}</h5>
      {m && (m.method || m.status !== undefined) ? (
        <>
          <p class="mono request-line">
            {m.method ? `${m.method} ${m.url ?? ''}` : `HTTP ${String(m.status)}`}
          </p>
          {m.headers ? (
            <details>
              <summary>Headers</summary>
              <table class="headers">
                <caption class="visually-hidden">{props.label} headers</caption>
                <tbody>
                  {Object.entries(m.headers).map(([k, v]) => (
                    <tr key={k}>
                      <th scope="row" class="mono">
                        {k}
                      </th>
                      <td class="mono">{typeof v === 'string' ? v : JSON.stringify(v)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          ) : null}
          {m.body !== undefined && m.body !== '' ? (
            <JsonBlock value={m.body} label={`${props.label} body`} />
          ) : null}
        </>
      ) : (
        <JsonBlock value={props.value} label={props.label} />
      )}
    </div>
  );
}

function AttemptView({ attempt, step }: { attempt: Attempt; step: string }) {
  return (
    <li class={`attempt ${attempt.error ? 'attempt-failed' : ''}`} data-attempt={attempt.n}>
      <h4>
        Attempt {attempt.n}{' '}
        <span class="muted">
          {formatTime(attempt.startedAt)} · {formatDuration(attempt.durationMs)}
        </span>
      </h4>
      {attempt.error ? <p class="error-text">Error: {attempt.error}</p> : null}
      <div class="messages">
        <Message title="Request" value={attempt.request} label={`${step} attempt ${attempt.n} request`} />
        <Message title="Response" value={attempt.response} label={`${step} attempt ${attempt.n} response`} />
      </div>
    </li>
  );
}

function StepView({ step, index }: { step: ExecutionStep; index: number }) {
  return (
    <li class={`timeline-step step-${step.status}`} data-step={step.id}>
      <h3>
        <span class="muted">{index + 1}.</span> {step.name ?? step.id}{' '}
        <span class="muted">({step.type})</span> <StatusBadge status={step.status} />
      </h3>
      {step.resumeAt ? <p>Waiting until {formatTime(step.resumeAt)}</p> : null}
      {step.error ? <p class="error-text">{step.error}</p> : null}
      {step.output !== undefined ? (
        <details>
          <summary>Output</summary>
          <JsonBlock value={step.output} label={`${step.id} output`} />
        </details>
      ) : null}
      {step.attempts.length ? (
        <ol class="attempts" aria-label={`Attempts of ${step.id}`}>
          {step.attempts.map((a) => (
            <AttemptView key={a.n} attempt={a} step={step.id} />
          ))}
        </ol>
      ) : null}
    </li>
  );
}

/** One execution as a timeline of steps and attempts; refreshes every second while it is live. */
export function RunPage(props: { id: string }) {
  const [run, setRun] = useState<Execution | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [confirmCancel, setConfirmCancel] = useState(false);

  const load = async () => {
    try {
      setRun(await api.execution(props.id));
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
          <StepView key={s.id} step={s} index={i} />
        ))}
      </ol>
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
