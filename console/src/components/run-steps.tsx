import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
import { ITERATION_STATUSES, type Attempt, type ExecutionStep, type Iteration } from '../api/types';
import { formatDuration, formatTime } from '../lib/format';
import { JsonBlock, Notice, StatusBadge } from './common';

// The steps of one execution as a timeline: attempts with their request and answer, a branch with
// the case that ran and its steps indented under it, a forEach with its items paged (never all at once).

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

/** What a branch's `output.matched` says: the cases that ran, or that none did. */
function matchedText(step: ExecutionStep): string | undefined {
  const out = step.output as { matched?: unknown } | undefined;
  if (!out || !Array.isArray(out.matched)) return undefined;
  if (out.matched.length === 0)
    return step.steps?.length ? 'no case matched: default ran' : 'no case matched';
  const names = out.matched.map((m) => (typeof m === 'number' ? `#${m + 1}` : String(m)));
  return `${names.length > 1 ? 'cases' : 'case'} ${names.join(', ')}`;
}

export interface StepContext {
  runId: string;
  /** Changes on every refresh of the run, so the forEach items on screen refresh with it. */
  tick: number;
  /** Set for the steps of one forEach item: their labels name the item (ids repeat per item). */
  prefix?: string;
  /** Set inside a forEach item: that item as a loop path's start (`repos[2]`), for the loops inside it. */
  within?: string;
}

export function StepView(props: { step: ExecutionStep; index: number; ctx: StepContext }) {
  const { step, ctx } = props;
  const label = ctx.prefix ? `${ctx.prefix} ${step.id}` : step.id;
  const matched = step.type === 'branch' ? matchedText(step) : undefined;
  const container = step.type === 'branch' || step.type === 'forEach';
  const attempts = (
    <ol class="attempts" aria-label={`Attempts of ${label}`}>
      {step.attempts.map((a) => (
        <AttemptView key={a.n} attempt={a} step={label} />
      ))}
    </ol>
  );
  return (
    <li class={`timeline-step step-${step.status}`} data-step={step.id}>
      <h3>
        <span class="muted">{props.index + 1}.</span> {step.name ?? step.id}{' '}
        <span class="muted">({step.type})</span> <StatusBadge status={step.status} />
      </h3>
      {step.waitingFor ? <p class="waiting-for">waiting: {step.waitingFor}</p> : null}
      {step.resumeAt ? <p>Waiting until {formatTime(step.resumeAt)}</p> : null}
      {step.error ? <p class="error-text">{step.error}</p> : null}
      {matched ? <p class="branch-matched">Ran: {matched}</p> : null}
      {step.output !== undefined && step.type !== 'forEach' ? (
        <details>
          <summary>Output</summary>
          <JsonBlock value={step.output} label={`${label} output`} />
        </details>
      ) : null}
      {step.steps?.length ? (
        <ol class="timeline nested" aria-label={`Steps run by ${label}`}>
          {step.steps.map((s, i) => (
            <StepView key={s.id} step={s} index={i} ctx={ctx} />
          ))}
        </ol>
      ) : null}
      {step.iterations ? <ForEachView step={step} ctx={ctx} /> : null}
      {step.attempts.length === 0 ? null : container ? (
        // A branch's or forEach's own attempt only evaluated `when` / `items`: folded away.
        <details>
          <summary>Its own attempt (evaluating {step.type === 'branch' ? 'the cases' : 'the items'})</summary>
          {attempts}
        </details>
      ) : (
        attempts
      )}
    </li>
  );
}

const PAGE_SIZE = 10;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function itemText(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? '—' : s.length > 120 ? `${s.slice(0, 117)}…` : s;
}

/** A forEach: its items counted by state, then one page of items, filterable by state. */
function ForEachView({ step, ctx }: { step: ExecutionStep; ctx: StepContext }) {
  const counts = step.iterations!;
  const [status, setStatus] = useState('');
  // Cursors of the pages before the one shown, so "Previous" goes back without a cursor of its own.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [items, setItems] = useState<Iteration[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState('');
  const cursor = cursors[cursors.length - 1];
  // A loop inside another loop's item runs once per such item: its run is named by the path.
  const path = ctx.within ? `${ctx.within}.${step.id}` : step.id;
  const name = ctx.prefix ? `${ctx.prefix} ${step.id}` : step.id;

  useEffect(() => {
    let live = true;
    api.iterations(ctx.runId, { step: path, status: status || undefined, limit: PAGE_SIZE, cursor }).then(
      (page) => {
        if (!live) return;
        setItems(page.items);
        setNext(page.nextCursor);
        setError('');
      },
      (e: unknown) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, [ctx.runId, path, status, cursor, ctx.tick]);

  const pageNo = cursors.length;
  const filterId = `items-${path.replace(/[^A-Za-z0-9_]/g, '-')}-status`;
  return (
    <section class="foreach" aria-label={`Items of ${name}`}>
      <dl class="facts counts">
        <div>
          <dt>Items</dt>
          <dd data-count="total">{counts.total}</dd>
        </div>
        {ITERATION_STATUSES.map((s) =>
          (counts as unknown as Record<string, number | undefined>)[s] ? (
            <div key={s}>
              <dt>{s}</dt>
              <dd data-count={s}>{(counts as unknown as Record<string, number>)[s]}</dd>
            </div>
          ) : null,
        )}
      </dl>
      <div class="toolbar">
        <div class="field inline-field">
          <label for={filterId}>Items with status</label>
          <select
            id={filterId}
            value={status}
            onChange={(e) => {
              setStatus(e.currentTarget.value);
              setCursors([undefined]);
            }}
          >
            <option value="">All</option>
            {ITERATION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <span class="hint" role="status">
          {items === null
            ? 'Loading items…'
            : items.length === 0
              ? 'No items here.'
              : `Page ${pageNo}: ${plural(items.length, status ? `${status} item` : 'item')}, index ${items[0].index} to ${items[items.length - 1].index}`}
        </span>
      </div>
      <Notice kind="error">{error}</Notice>
      {items?.length ? (
        <ol class="iterations" aria-label={`Items of ${name}, page ${pageNo}`}>
          {items.map((it) => (
            <li key={it.index} class={`iteration step-${it.status}`} data-index={it.index}>
              <h4>
                Item {it.index} <StatusBadge status={it.status} />{' '}
                <code class="item-value" title="The item">
                  {itemText(it.item)}
                </code>
              </h4>
              {it.error ? <p class="error-text">{it.error}</p> : null}
              {it.steps.length ? (
                <details>
                  <summary>
                    Steps:{' '}
                    {it.steps
                      .map((s) => `${s.id} ${s.status} (${plural(s.attempts.length, 'attempt')})`)
                      .join(', ')}
                  </summary>
                  <ol class="timeline nested">
                    {it.steps.map((s, i) => (
                      <StepView
                        key={s.id}
                        step={s}
                        index={i}
                        ctx={{
                          ...ctx,
                          prefix: `${ctx.prefix ? `${ctx.prefix} ` : ''}item ${it.index}`,
                          within: `${path}[${it.index}]`,
                        }}
                      />
                    ))}
                  </ol>
                </details>
              ) : null}
            </li>
          ))}
        </ol>
      ) : null}
      <div class="actions pager">
        <button
          type="button"
          class="secondary"
          disabled={cursors.length <= 1}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          Previous items
        </button>
        <button
          type="button"
          class="secondary"
          disabled={!next}
          onClick={() => next && setCursors((c) => [...c, next])}
        >
          Next items
        </button>
      </div>
    </section>
  );
}
