import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
import type { Destination, DestinationBody } from '../api/types';
import { ConfirmDialog, Notice, PageTitle, StatusBadge, usePoll } from '../components/common';
import { formatTime } from '../lib/format';

// Destinations: limits shared by every http and slack step that calls a group of hosts
// (docs/flow-control.md#destinations). The list answer has no state, so each row asks for its own.

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

interface FormState {
  name: string;
  match: string;
  rateMax: string;
  ratePerMs: string;
  concurrency: string;
  failures: string;
  cooldownMs: string;
}

const EMPTY: FormState = {
  name: '',
  match: '',
  rateMax: '',
  ratePerMs: '1000',
  concurrency: '',
  failures: '',
  cooldownMs: '60000',
};

function toForm(d: Destination): FormState {
  return {
    name: d.name,
    match: d.match.join('\n'),
    rateMax: d.rateLimit ? String(d.rateLimit.max) : '',
    ratePerMs: d.rateLimit ? String(d.rateLimit.perMs) : '1000',
    concurrency: d.concurrency !== undefined ? String(d.concurrency) : '',
    failures: d.circuitBreaker ? String(d.circuitBreaker.failures) : '',
    cooldownMs: d.circuitBreaker ? String(d.circuitBreaker.cooldownMs) : '60000',
  };
}

/** Numbers as numbers; anything else as typed, so the server's 400 names the field. */
const num = (s: string): number => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : (s as unknown as number));

function toBody(f: FormState): DestinationBody {
  const body: DestinationBody = {
    match: f.match
      .split(/[\s,]+/)
      .map((m) => m.trim())
      .filter(Boolean),
  };
  if (f.rateMax.trim()) body.rateLimit = { max: num(f.rateMax), perMs: num(f.ratePerMs) };
  if (f.concurrency.trim()) body.concurrency = num(f.concurrency);
  if (f.failures.trim()) body.circuitBreaker = { failures: num(f.failures), cooldownMs: num(f.cooldownMs) };
  return body;
}

function limitsText(d: Destination): string {
  const parts: string[] = [];
  if (d.rateLimit) parts.push(`${d.rateLimit.max} per ${d.rateLimit.perMs} ms`);
  if (d.concurrency !== undefined) parts.push(`${d.concurrency} in flight`);
  if (d.circuitBreaker)
    parts.push(
      `circuit: opens after ${d.circuitBreaker.failures} failure${d.circuitBreaker.failures === 1 ? '' : 's'} in a row, for ${d.circuitBreaker.cooldownMs} ms`,
    );
  return parts.join(' · ');
}

function Field(props: { id: string; label: string; value: string; set: (v: string) => void; hint?: string }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        class="mono"
        inputMode="numeric"
        value={props.value}
        onInput={(e) => props.set(e.currentTarget.value)}
      />
      {props.hint ? <span class="hint">{props.hint}</span> : null}
    </div>
  );
}

/** List destinations with their live state; create, edit, delete; reset an open circuit. */
export function DestinationsPage() {
  const [list, setList] = useState<Destination[] | null>(null);
  const [form, setForm] = useState<FormState>(EMPTY);
  const [editing, setEditing] = useState(false);
  const [formError, setFormError] = useState('');
  const [notice, setNotice] = useState('');
  const [deleting, setDeleting] = useState<string | null>(null);
  const [resetting, setResetting] = useState<string | null>(null);

  const load = async () => {
    try {
      const page = await api.destinations();
      setList(await Promise.all(page.items.map((d) => api.destination(d.name).catch(() => d))));
    } catch (e) {
      setNotice(errorText(e));
    }
  };
  useEffect(() => {
    void load();
  }, []);
  usePoll(load, 3000, list !== null);

  const set = (k: keyof FormState) => (v: string) => setForm((f) => ({ ...f, [k]: v }));

  const save = async (e: Event) => {
    e.preventDefault();
    setFormError('');
    if (!NAME.test(form.name))
      return setFormError(
        'A name holds lower-case letters, digits and -, and starts with a letter or digit.',
      );
    try {
      await api.putDestination(form.name, toBody(form));
      setNotice(`Destination ${form.name} saved.`);
      setForm(EMPTY);
      setEditing(false);
      await load();
    } catch (err) {
      setFormError(errorText(err));
    }
  };

  const act = async (what: 'delete' | 'reset', name: string) => {
    setDeleting(null);
    setResetting(null);
    try {
      if (what === 'delete') await api.deleteDestination(name);
      else await api.resetDestination(name);
      setNotice(what === 'delete' ? `Destination ${name} deleted.` : `The circuit of ${name} is closed.`);
      await load();
    } catch (err) {
      setNotice(`Failed: ${errorText(err)}`);
    }
  };

  return (
    <>
      <PageTitle>Destinations</PageTitle>
      <p class="hint">
        Limits shared by every http and Slack step that calls these hosts, in every flow: a rate limit, a
        number of requests in flight, a circuit breaker. A step held back waits (no attempt is used) and says
        why on its run.
      </p>
      <Notice>{notice}</Notice>
      {list === null ? (
        <p role="status">Loading…</p>
      ) : list.length === 0 ? (
        <p>No destinations yet.</p>
      ) : (
        <table class="plain">
          <caption class="visually-hidden">Destinations and their state</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Hosts</th>
              <th scope="col">Limits</th>
              <th scope="col">Circuit</th>
              <th scope="col">In flight</th>
              <th scope="col">Waiting</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr key={d.name} data-destination={d.name}>
                <td data-label="Name" class="mono">
                  {d.name}
                </td>
                <td data-label="Hosts" class="mono">
                  {d.match.join(', ')}
                </td>
                <td data-label="Limits">{limitsText(d)}</td>
                <td data-label="Circuit">
                  {d.state ? (
                    <span title={d.state.openedAt ? `opened ${formatTime(d.state.openedAt)}` : undefined}>
                      <StatusBadge status={d.state.circuit} />
                    </span>
                  ) : (
                    '—'
                  )}
                </td>
                <td data-label="In flight">{d.state?.inFlight ?? '—'}</td>
                <td data-label="Waiting">{d.state?.waiting ?? '—'}</td>
                <td>
                  <div class="actions">
                    <button
                      type="button"
                      class="secondary"
                      disabled={!d.state || d.state.circuit === 'closed'}
                      onClick={() => setResetting(d.name)}
                      aria-label={`Reset the circuit of ${d.name}`}
                    >
                      Reset circuit
                    </button>
                    <button
                      type="button"
                      class="secondary"
                      onClick={() => (setForm(toForm(d)), setEditing(true), setFormError(''))}
                      aria-label={`Edit ${d.name}`}
                    >
                      Edit
                    </button>
                    <button
                      type="button"
                      class="secondary danger-text"
                      onClick={() => setDeleting(d.name)}
                      aria-label={`Delete ${d.name}`}
                    >
                      Delete
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="card" onSubmit={(e) => void save(e)} aria-labelledby="dest-form-title">
        <h2 id="dest-form-title">{editing ? `Edit ${form.name}` : 'New destination'}</h2>
        <div class="grid-2">
          <div class="field">
            <label for="dest-name">Name</label>
            <input
              id="dest-name"
              class="mono"
              value={form.name}
              readOnly={editing}
              autoComplete="off"
              spellcheck={false}
              onInput={(e) => set('name')(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="dest-match">Hosts (one a line: host, host:port or *.domain)</label>
            <textarea
              id="dest-match"
              class="mono"
              rows={2}
              value={form.match}
              spellcheck={false}
              onInput={(e) => set('match')(e.currentTarget.value)}
            />
          </div>
          <Field id="dest-rate-max" label="Rate limit: at most" value={form.rateMax} set={set('rateMax')} />
          <Field id="dest-rate-per" label="… per (ms)" value={form.ratePerMs} set={set('ratePerMs')} />
          <Field
            id="dest-concurrency"
            label="Requests in flight at most"
            value={form.concurrency}
            set={set('concurrency')}
          />
          <span />
          <Field
            id="dest-failures"
            label="Circuit: open after failures in a row"
            value={form.failures}
            set={set('failures')}
          />
          <Field
            id="dest-cooldown"
            label="… stay open for (ms)"
            value={form.cooldownMs}
            set={set('cooldownMs')}
          />
        </div>
        <p class="hint">Leave a limit empty to go without it; give at least one.</p>
        <div class="actions">
          <button type="submit">{editing ? 'Save destination' : 'Create destination'}</button>
          {editing ? (
            <button type="button" class="secondary" onClick={() => (setForm(EMPTY), setEditing(false))}>
              Stop editing
            </button>
          ) : null}
        </div>
        <Notice kind="error">{formError}</Notice>
      </form>
      <ConfirmDialog
        open={resetting !== null}
        title={`Reset the circuit of ${resetting ?? ''}?`}
        confirmLabel="Reset circuit"
        onConfirm={() => resetting && void act('reset', resetting)}
        onCancel={() => setResetting(null)}
      >
        <p>
          The circuit closes now and the steps waiting for it go at once. If the receiver is still down, they
          fail again and the circuit opens again.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete the destination ${deleting ?? ''}?`}
        confirmLabel="Delete destination"
        danger
        onConfirm={() => deleting && void act('delete', deleting)}
        onCancel={() => setDeleting(null)}
      >
        <p>
          Its limits go at once: steps waiting for it go now, and calls to its hosts are no longer held back.
        </p>
      </ConfirmDialog>
    </>
  );
}
