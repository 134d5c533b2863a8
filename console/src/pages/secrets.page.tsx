import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
import type { Secret } from '../api/types';
import { ConfirmDialog, Notice, PageTitle } from '../components/common';
import { formatTime } from '../lib/format';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Set and delete secrets. Values go in, never come back: the API has no way to read one. */
export function SecretsPage() {
  const [secrets, setSecrets] = useState<Secret[] | null>(null);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [formError, setFormError] = useState('');
  const [notice, setNotice] = useState('');
  const [deleting, setDeleting] = useState<string | null>(null);

  const load = () =>
    api.secrets().then(
      (p) => setSecrets(p.items),
      (e: unknown) => setNotice(errorText(e)),
    );
  useEffect(() => {
    void load();
  }, []);

  const save = async (e: Event) => {
    e.preventDefault();
    setFormError('');
    if (!NAME.test(name))
      return setFormError('A name holds letters, digits and _ and does not start with a digit.');
    if (!value) return setFormError('Give a value.');
    try {
      await api.setSecret(name, value);
      setNotice(`Secret ${name} saved. Use it as {{ $secrets.${name} }}.`);
      setName('');
      setValue('');
      await load();
    } catch (err) {
      setFormError(errorText(err));
    }
  };

  const remove = async () => {
    const n = deleting;
    setDeleting(null);
    if (!n) return;
    try {
      await api.deleteSecret(n);
      setNotice(`Secret ${n} deleted.`);
      await load();
    } catch (err) {
      setNotice(`Not deleted: ${errorText(err)}`);
    }
  };

  return (
    <>
      <PageTitle>Secrets</PageTitle>
      <p class="hint">
        Stored encrypted. Refer to one in any expression or template as <code>{'{{ $secrets.NAME }}'}</code>;
        it reads <code>***</code> in every answer and run record.
      </p>
      <Notice>{notice}</Notice>
      <form class="card" onSubmit={(e) => void save(e)} aria-labelledby="secret-form-title">
        <h2 id="secret-form-title">Set a secret</h2>
        <p class="hint">Setting an existing name replaces its value.</p>
        <div class="grid-2">
          <div class="field">
            <label for="secret-name">Name</label>
            <input
              id="secret-name"
              class="mono"
              value={name}
              autoComplete="off"
              spellcheck={false}
              required
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="secret-value">Value</label>
            <input
              id="secret-value"
              type="password"
              value={value}
              autoComplete="new-password"
              required
              onInput={(e) => setValue(e.currentTarget.value)}
            />
          </div>
        </div>
        <button type="submit">Save secret</button>
        <Notice kind="error">{formError}</Notice>
      </form>
      {secrets === null ? (
        <p role="status">Loading…</p>
      ) : secrets.length === 0 ? (
        <p>No secrets yet.</p>
      ) : (
        <table class="plain">
          <caption class="visually-hidden">Stored secrets</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Updated</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {secrets.map((s) => (
              <tr key={s.name} data-secret={s.name}>
                <td data-label="Name" class="mono">
                  {s.name}
                </td>
                <td data-label="Updated">{formatTime(s.updatedAt)}</td>
                <td>
                  <button
                    type="button"
                    class="secondary"
                    onClick={() => setName(s.name)}
                    aria-label={`Replace the value of ${s.name}`}
                  >
                    Replace value
                  </button>{' '}
                  <button
                    type="button"
                    class="secondary danger-text"
                    onClick={() => setDeleting(s.name)}
                    aria-label={`Delete ${s.name}`}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete the secret ${deleting ?? ''}?`}
        confirmLabel="Delete secret"
        danger
        onConfirm={() => void remove()}
        onCancel={() => setDeleting(null)}
      >
        <p>
          Flows that use it render it empty from now on: a verify block refuses every request, a signed step
          fails.
        </p>
      </ConfirmDialog>
    </>
  );
}
