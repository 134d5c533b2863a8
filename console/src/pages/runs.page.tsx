import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
import { ACTIVE_STATUSES, EXECUTION_STATUSES, type ExecutionSummary, type Flow } from '../api/types';
import { BulkRetry } from '../components/bulk-retry';
import { Notice, PageTitle, StatusBadge, usePoll } from '../components/common';
import { between, formatDuration, formatTime, relative } from '../lib/format';
import { Link, navigate } from '../router';

/** The executions of one flow, newest first, filterable by status; refreshes by itself. */
export function RunsPage(props: { flowId: string; status?: string }) {
  const [flow, setFlow] = useState<Flow | null>(null);
  const [runs, setRuns] = useState<ExecutionSummary[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [payload, setPayload] = useState('{}');
  const [runNotice, setRunNotice] = useState('');
  // Counts refreshes of the list, so the bulk retry's count follows it.
  const [loads, setLoads] = useState(0);
  const status = props.status ?? '';

  const load = async () => {
    try {
      const page = await api.executions({ flowId: props.flowId, status: status || undefined });
      // A refresh shows the newest page again (older pages loaded by hand are dropped).
      setRuns(page.items);
      setCursor(page.nextCursor);
      setLoads((n) => n + 1);
      setError('');
    } catch (e) {
      setError(errorText(e));
    }
  };

  useEffect(() => {
    setRuns(null);
    api.flow(props.flowId).then(setFlow, (e: unknown) => setError(errorText(e)));
    void load();
  }, [props.flowId, status]);

  const live = (runs ?? []).some((r) => ACTIVE_STATUSES.includes(r.status));
  // New runs show up by themselves: every 2 s while one is live, every 5 s otherwise.
  usePoll(load, live ? 2000 : 5000, runs !== null);

  const more = async () => {
    if (!cursor) return;
    const page = await api.executions({ flowId: props.flowId, status: status || undefined, cursor });
    setRuns((prev) => [...(prev ?? []), ...page.items]);
    setCursor(page.nextCursor);
  };

  const runByHand = async (e: Event) => {
    e.preventDefault();
    let value: unknown;
    try {
      value = payload.trim() ? JSON.parse(payload) : {};
    } catch (err) {
      return setRunNotice(`The payload is not valid JSON: ${(err as Error).message}`);
    }
    try {
      const { executionId } = await api.runFlow(props.flowId, value);
      navigate(`/runs/${executionId}`);
    } catch (err) {
      setRunNotice(`Not started: ${errorText(err)}`);
    }
  };

  return (
    <>
      <div class="page-head">
        <PageTitle>Runs{flow ? ` of ${flow.name}` : ''}</PageTitle>
        <nav aria-label="This flow" class="page-links">
          <Link href={`/flows/${props.flowId}`}>Edit flow</Link>
        </nav>
      </div>
      <Notice kind="error">{error}</Notice>
      <div class="toolbar">
        <div class="field inline-field">
          <label for="status-filter">Status</label>
          <select
            id="status-filter"
            value={status}
            onChange={(e) => {
              const s = e.currentTarget.value;
              navigate(`/flows/${props.flowId}/runs${s ? `?status=${s}` : ''}`, { replace: true });
            }}
          >
            <option value="">All</option>
            {EXECUTION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <span class="hint" role="status">
          {live ? 'Live: refreshing every 2 s' : ''}
        </span>
      </div>
      {runs === null ? (
        <p role="status">Loading…</p>
      ) : runs.length === 0 ? (
        <p>No runs{status ? ` with status ${status}` : ''} yet.</p>
      ) : (
        <table class="runs">
          <caption class="visually-hidden">Runs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Version</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-run={r.id}>
                <td data-label="Status">
                  <Link href={`/runs/${r.id}`}>
                    <StatusBadge status={r.status} />
                    <span class="visually-hidden"> run {r.id}</span>
                  </Link>
                </td>
                <td data-label="Started">
                  <time dateTime={r.createdAt} title={formatTime(r.createdAt)}>
                    {relative(r.createdAt)}
                  </time>
                </td>
                <td data-label="Duration">{formatDuration(between(r.createdAt, r.finishedAt))}</td>
                <td data-label="Version">v{r.flowVersion}</td>
                <td data-label="Error" class="error-text">
                  {r.error ?? ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor ? (
        <button type="button" class="secondary" onClick={() => void more()}>
          Load older runs
        </button>
      ) : null}
      <BulkRetry flowId={props.flowId} refreshKey={loads} onProgress={() => void load()} />
      <form class="card" onSubmit={(e) => void runByHand(e)} aria-labelledby="manual-title">
        <h2 id="manual-title">Run by hand</h2>
        <div class="field">
          <label for="manual-payload">Payload (JSON, becomes event.body)</label>
          <textarea
            id="manual-payload"
            class="mono"
            rows={3}
            value={payload}
            spellcheck={false}
            onInput={(e) => setPayload(e.currentTarget.value)}
          />
        </div>
        <button type="submit" class="secondary">
          Run now
        </button>
        <Notice kind="error">{runNotice}</Notice>
      </form>
    </>
  );
}
