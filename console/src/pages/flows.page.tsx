import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
import type { ExecutionSummary, Flow, StatsBucket } from '../api/types';
import { ConfirmDialog, CopyField, Notice, PageTitle, StatusBadge } from '../components/common';
import { Sparkline } from '../components/sparkline';
import { eachLimited } from '../lib/each-limited';
import { formatTime, relative } from '../lib/format';
import { Link } from '../router';

interface Health {
  last?: ExecutionSummary;
  /** failed runs in the last 24 h; `more` when there are more than one page holds */
  failed: number;
  more: boolean;
}

const DAY_MS = 86_400_000;
const PAGE = 200;

/** Last run and failures in 24 h, from the executions list (newest first, so one page usually tells). */
async function healthOf(flowId: string): Promise<Health> {
  const [last, failed] = await Promise.all([
    api.executions({ flowId, limit: 1 }),
    api.executions({ flowId, status: 'failed', limit: PAGE }),
  ]);
  const since = Date.now() - DAY_MS;
  const recent = failed.items.filter((e) => Date.parse(e.createdAt) >= since);
  return {
    last: last.items[0],
    failed: recent.length,
    more: recent.length === PAGE && failed.nextCursor !== null,
  };
}

type Pending = { kind: 'delete' | 'rotate'; flow: Flow } | null;

export function FlowsPage() {
  const [flows, setFlows] = useState<Flow[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [health, setHealth] = useState<Record<string, Health>>({});
  /** The last 24 h in hour buckets, per flow shown; a flow whose stats failed has none (no sparkline). */
  const [sparks, setSparks] = useState<Record<string, StatsBucket[]>>({});
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [pending, setPending] = useState<Pending>(null);

  const loadHealth = (list: Flow[]) =>
    eachLimited(list, 4, async (f) => {
      try {
        const h = await healthOf(f.id);
        setHealth((prev) => ({ ...prev, [f.id]: h }));
      } catch {
        // the row shows "—"; the list itself is what matters
      }
    });

  // Only the flows just listed, 4 at a time, after the list is on screen; a failure shows nothing.
  const loadSparks = (list: Flow[]) =>
    eachLimited(list, 4, async (f) => {
      try {
        const r = await api.stats(f.id, { from: new Date(Date.now() - DAY_MS).toISOString(), bucket: '1h' });
        setSparks((prev) => ({ ...prev, [f.id]: r.buckets }));
      } catch {
        // no sparkline for this flow; the row is still whole
      }
    });

  const load = async (more = false) => {
    try {
      const page = await api.flows(more ? (cursor ?? undefined) : undefined);
      setFlows((prev) => (more && prev ? [...prev, ...page.items] : page.items));
      setCursor(page.nextCursor);
      void loadHealth(page.items);
      void loadSparks(page.items);
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const replace = (flow: Flow) => setFlows((prev) => prev?.map((f) => (f.id === flow.id ? flow : f)) ?? null);

  const toggle = async (flow: Flow) => {
    try {
      const res = await api.patchFlow(flow.id, { enabled: !flow.enabled });
      replace(res);
      setNotice(`${res.name} is ${res.enabled ? 'enabled' : 'disabled'}.`);
    } catch (e) {
      setNotice(`Not changed: ${errorText(e)}`);
    }
  };

  const confirm = async () => {
    if (!pending) return;
    const { kind, flow } = pending;
    setPending(null);
    try {
      if (kind === 'delete') {
        await api.deleteFlow(flow.id);
        setFlows((prev) => prev?.filter((f) => f.id !== flow.id) ?? null);
        setNotice(`${flow.name} was deleted.`);
      } else {
        replace(await api.rotateToken(flow.id));
        setNotice(`${flow.name} has a new trigger URL; the old one answers 404 from now on.`);
      }
    } catch (e) {
      setNotice(`Failed: ${errorText(e)}`);
    }
  };

  return (
    <>
      <div class="page-head">
        <PageTitle>Flows</PageTitle>
        <Link href="/flows/new" class="button">
          New flow
        </Link>
      </div>
      <Notice kind="error">{error}</Notice>
      <Notice>{notice}</Notice>
      {flows === null ? (
        <p role="status">Loading…</p>
      ) : flows.length === 0 ? (
        <p>
          No flows yet. <Link href="/flows/new?template=github-slack">Start with GitHub push → Slack</Link> or{' '}
          <Link href="/flows/new">a blank flow</Link>.
        </p>
      ) : (
        <ul class="flow-list">
          {flows.map((f) => {
            const h = health[f.id];
            const url = f.trigger.type === 'webhook' ? f.trigger.url : undefined;
            return (
              <li class="card flow-row" key={f.id} data-flow={f.id}>
                <div class="flow-title">
                  <h2>
                    <Link href={`/flows/${f.id}`}>{f.name}</Link>
                  </h2>
                  <span class="muted">
                    {f.trigger.type === 'schedule'
                      ? `schedule ${String(f.trigger.cron)}`
                      : f.trigger.type === 'event'
                        ? `event ${String(f.trigger.event)}`
                        : 'webhook'}{' '}
                    · v{f.version}
                  </span>
                </div>
                <dl class="flow-stats">
                  <div>
                    <dt>Status</dt>
                    <dd>{f.enabled ? 'Enabled' : 'Disabled'}</dd>
                  </div>
                  <div>
                    <dt>Last run</dt>
                    <dd>
                      {h?.last ? (
                        <Link href={`/runs/${h.last.id}`}>
                          <StatusBadge status={h.last.status} />{' '}
                          <time dateTime={h.last.createdAt} title={formatTime(h.last.createdAt)}>
                            {relative(h.last.createdAt)}
                          </time>
                        </Link>
                      ) : h ? (
                        'never'
                      ) : (
                        '—'
                      )}
                    </dd>
                  </div>
                  <div>
                    <dt>Failed in 24 h</dt>
                    <dd class={h?.failed ? 'error-text' : undefined}>
                      {h ? (
                        <Link
                          href={`/flows/${f.id}/runs?status=failed`}
                        >{`${h.failed}${h.more ? '+' : ''}`}</Link>
                      ) : (
                        '—'
                      )}
                    </dd>
                  </div>
                  {sparks[f.id] ? (
                    <div class="flow-spark">
                      <dt>Last 24 h</dt>
                      <dd>
                        <Sparkline label="24 h" buckets={sparks[f.id]} />
                      </dd>
                    </div>
                  ) : null}
                </dl>
                {url ? <CopyField id={`url-${f.id}`} label={`Trigger URL of ${f.name}`} value={url} /> : null}
                <div class="actions">
                  <button
                    type="button"
                    role="switch"
                    aria-checked={f.enabled}
                    class="secondary switch"
                    aria-label={`Enabled: ${f.name}`}
                    onClick={() => void toggle(f)}
                  >
                    <span aria-hidden="true" class="knob" />
                    {f.enabled ? 'Enabled' : 'Disabled'}
                  </button>
                  <Link href={`/flows/${f.id}/runs`} class="button secondary">
                    Runs
                  </Link>
                  <Link href={`/flows/${f.id}`} class="button secondary">
                    Edit
                  </Link>
                  {url ? (
                    <button
                      type="button"
                      class="secondary"
                      onClick={() => setPending({ kind: 'rotate', flow: f })}
                    >
                      Rotate token
                    </button>
                  ) : null}
                  <button
                    type="button"
                    class="secondary danger-text"
                    onClick={() => setPending({ kind: 'delete', flow: f })}
                  >
                    Delete
                  </button>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {cursor ? (
        <button type="button" class="secondary" onClick={() => void load(true)}>
          Load more flows
        </button>
      ) : null}
      <ConfirmDialog
        open={pending !== null}
        title={
          pending?.kind === 'delete'
            ? `Delete ${pending.flow.name}?`
            : `Rotate the trigger URL of ${pending?.flow.name ?? ''}?`
        }
        confirmLabel={pending?.kind === 'delete' ? 'Delete flow' : 'Rotate token'}
        danger={pending?.kind === 'delete'}
        onConfirm={() => void confirm()}
        onCancel={() => setPending(null)}
      >
        {pending?.kind === 'delete' ? (
          <p>Its trigger URL answers 404 and its schedule stops. Past runs stay readable.</p>
        ) : (
          <p>The current URL answers 404 from now on: update the sending app with the new one.</p>
        )}
      </ConfirmDialog>
    </>
  );
}
