import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, errorText } from '../api/client';
import type { DryRunResult, DryRunStep, ExecutionSummary } from '../api/types';
import { JsonBlock, Notice, StatusBadge } from '../components/common';
import { formatTime } from '../lib/format';
import type { FlowShape } from './draft';
import { SAMPLE_EVENTS } from './templates';

// "Try it": the dry run of API.md against a sample event. A saved flow without changes is tried as
// stored (`POST /flows/{id}/test`); unsaved changes are sent as a definition (`POST /flows/test`),
// which stores nothing: no scratch flow, no audit record.

const EVENT_FIELDS = ['method', 'path', 'headers', 'query', 'body', 'name', 'scheduledAt'];

function eventPart(event: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(event).filter(([k]) => EVENT_FIELDS.includes(k)));
}

export function TryPanel(props: {
  flowId?: string;
  dirty: boolean;
  defaultSample: string;
  build: () => FlowShape | undefined;
  onServerErrors: (messages: string[]) => void;
  onDryRunErrors: (messages: string[]) => void;
}) {
  const [recent, setRecent] = useState<ExecutionSummary[]>([]);
  const [source, setSource] = useState('');
  const [text, setText] = useState('');
  const textRef = useRef(text);
  textRef.current = text;
  const [result, setResult] = useState<DryRunResult | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  // `onlyIfEmpty`: the default pick on load, which must not overwrite what the user typed while the
  // last received event was still loading.
  const pick = async (value: string, onlyIfEmpty = false) => {
    const put = (event: unknown) => {
      if (onlyIfEmpty && textRef.current.trim() !== '') return;
      setSource(value);
      setText(JSON.stringify(event, null, 2));
    };
    if (!onlyIfEmpty) setSource(value);
    setError('');
    const sample = SAMPLE_EVENTS.find((s) => s.id === value);
    if (sample) return put(sample.event);
    if (value.startsWith('exec:')) {
      try {
        const e = await api.execution(value.slice(5));
        put(eventPart(e.event));
      } catch (e) {
        setError(errorText(e));
      }
    }
  };

  useEffect(() => {
    let live = true;
    void (async () => {
      let items: ExecutionSummary[] = [];
      if (props.flowId) {
        try {
          items = (await api.executions({ flowId: props.flowId, limit: 10 })).items;
        } catch {
          items = [];
        }
      }
      if (!live) return;
      setRecent(items);
      // The last received event by default; a sample that fits the trigger otherwise. A sample
      // already in the box (the flow was just saved) stays.
      if (textRef.current.trim() === '')
        await pick(items.length ? `exec:${items[0].id}` : props.defaultSample, true);
    })();
    return () => {
      live = false;
    };
  }, [props.flowId]); // once per flow: a later edit of the form keeps the chosen sample

  const run = async () => {
    setError('');
    setResult(null);
    props.onDryRunErrors([]);
    let event: unknown;
    try {
      event = text.trim() ? JSON.parse(text) : {};
    } catch (e) {
      return setError(`The sample event is not valid JSON: ${(e as Error).message}`);
    }
    if (event === null || typeof event !== 'object' || Array.isArray(event))
      return setError('The sample event must be a JSON object such as {"headers": {...}, "body": {...}}.');
    const flow = props.build();
    if (!flow) return setError('Fix the marked fields first.');
    setBusy(true);
    try {
      let answer: DryRunResult;
      if (props.flowId && !props.dirty) {
        answer = await api.testFlow(props.flowId, event as Record<string, unknown>);
      } else {
        // A name is required of a definition; an unnamed new flow is still worth trying.
        const definition = { ...flow, name: flow.name.trim() || 'new flow' };
        answer = await api.testDefinition(definition, event as Record<string, unknown>);
      }
      setResult(answer);
      props.onDryRunErrors(answer.steps.flatMap((s) => (s.error ? [s.error] : [])));
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) {
        props.onServerErrors(e.messages);
        setError('The flow has problems: see the marked fields.');
      } else setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="try-title">
      <h2 id="try-title">Try it</h2>
      <p class="hint">
        Runs the flow as it is in the form against a sample event: nothing is sent and no run is recorded.
      </p>
      <div class="field">
        <label for="try-source">Sample event</label>
        <select id="try-source" value={source} onChange={(e) => void pick(e.currentTarget.value)}>
          {recent.length ? (
            <optgroup label="Received by this flow">
              {recent.map((r, i) => (
                <option key={r.id} value={`exec:${r.id}`}>
                  {i === 0 ? 'Last received: ' : ''}
                  {formatTime(r.createdAt)} ({r.status})
                </option>
              ))}
            </optgroup>
          ) : null}
          <optgroup label="Samples">
            {SAMPLE_EVENTS.map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </optgroup>
        </select>
      </div>
      <div class="field">
        <label for="try-event">Event (JSON: body, headers, query, method, …)</label>
        <textarea
          id="try-event"
          class="mono"
          rows={8}
          value={text}
          spellcheck={false}
          onInput={(e) => {
            textRef.current = e.currentTarget.value;
            setText(e.currentTarget.value);
          }}
        />
      </div>
      <button type="button" onClick={() => void run()} disabled={busy}>
        {busy ? 'Trying…' : 'Try it'}
      </button>
      <Notice kind="error">{error}</Notice>
      {result ? <DryRunView result={result} /> : null}
    </section>
  );
}

function StepResult({ step, prefix }: { step: DryRunStep; prefix?: string }) {
  const req = step.request as
    { method?: string; url?: string; headers?: unknown; body?: unknown } | undefined;
  // Steps inside a forEach repeat per item: their labels name the item.
  const label = prefix ? `${prefix} ${step.id}` : step.id;
  return (
    <li class="dry-step" data-step={step.id}>
      <h4>
        {step.id} <StatusBadge status={step.status} />
      </h4>
      {step.reason ? <p>Skipped: {step.reason}</p> : null}
      {step.error ? <p class="error-text">{step.error}</p> : null}
      {req && req.method && req.url ? (
        <>
          <p class="mono request-line">
            {req.method} {req.url}
          </p>
          {req.headers ? (
            <>
              <h5>Headers</h5>
              <JsonBlock value={req.headers} label={`${label} request headers`} />
            </>
          ) : null}
          {req.body !== undefined ? (
            <>
              <h5>Body</h5>
              <JsonBlock value={req.body} label={`${label} request body`} />
            </>
          ) : null}
        </>
      ) : req !== undefined ? (
        <JsonBlock value={req} label={`${label} request`} />
      ) : null}
      {'output' in step ? (
        <>
          <h5>Output</h5>
          <JsonBlock value={step.output} label={`${label} output`} />
        </>
      ) : null}
      {step.steps?.length ? (
        <ol class="dry-steps nested" aria-label={`Steps ${step.id} would run`}>
          {step.steps.map((s) => (
            <StepResult key={s.id} step={s} prefix={prefix} />
          ))}
        </ol>
      ) : null}
      {step.total !== undefined ? (
        <p class="dry-total">
          {step.total} item{step.total === 1 ? '' : 's'}
          {step.iterations && step.iterations.length < step.total
            ? `; the first ${step.iterations.length} are shown`
            : ''}
        </p>
      ) : null}
      {step.iterations?.length ? (
        <ol class="dry-items" aria-label={`Items of ${step.id}`}>
          {step.iterations.map((it) => (
            <li key={it.index} data-index={it.index}>
              <details>
                <summary>
                  Item {it.index}: <code>{JSON.stringify(it.item)?.slice(0, 80)}</code>
                </summary>
                <ol class="dry-steps nested">
                  {it.steps.map((s) => (
                    <StepResult key={s.id} step={s} prefix={`item ${it.index}`} />
                  ))}
                </ol>
              </details>
            </li>
          ))}
        </ol>
      ) : null}
    </li>
  );
}

export function DryRunView({ result }: { result: DryRunResult }) {
  return (
    <div class="dry-run" aria-live="polite">
      <h3>Result</h3>
      <p>
        Filter: {result.filter.matched ? 'matched' : 'did not match: every step is skipped'}
        {result.filter.error ? ` (${result.filter.error})` : ''}
      </p>
      <ol class="dry-steps">
        {result.steps.map((s) => (
          <StepResult key={s.id} step={s} />
        ))}
      </ol>
    </div>
  );
}
