import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api/client';
import type { ApiKey, CreatedApiKey } from '../api/types';
import { ConfirmDialog, CopyField, Notice, PageTitle } from '../components/common';
import { formatTime } from '../lib/format';

/** Create and revoke API keys. A new key's plaintext is shown once, here, and never again. */
export function KeysPage() {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [formError, setFormError] = useState('');
  const [notice, setNotice] = useState('');
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  const load = () =>
    api.apiKeys().then(
      (p) => setKeys(p.items),
      (e: unknown) => setNotice(errorText(e)),
    );
  useEffect(() => {
    void load();
  }, []);

  const create = async (e: Event) => {
    e.preventDefault();
    setFormError('');
    setCreated(null);
    try {
      setCreated(await api.createApiKey(name));
      setName('');
      await load();
    } catch (err) {
      setFormError(errorText(err));
    }
  };

  const revoke = async () => {
    const k = revoking;
    setRevoking(null);
    if (!k) return;
    try {
      await api.revokeApiKey(k.id);
      setNotice(`Key ${k.name} revoked: it answers 401 from now on.`);
      if (created?.id === k.id) setCreated(null);
      await load();
    } catch (err) {
      setNotice(`Not revoked: ${errorText(err)}`);
    }
  };

  return (
    <>
      <PageTitle>API keys</PageTitle>
      <p class="hint">
        Every key may do everything. Only a hash is stored: a lost key cannot be shown again.
      </p>
      <Notice>{notice}</Notice>
      <form class="card" onSubmit={(e) => void create(e)} aria-labelledby="key-form-title">
        <h2 id="key-form-title">Create a key</h2>
        <div class="field">
          <label for="key-name">Name (shown as the actor in the audit log)</label>
          <input
            id="key-name"
            value={name}
            required
            autoComplete="off"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </div>
        <button type="submit">Create key</button>
        <Notice kind="error">{formError}</Notice>
      </form>
      {created ? (
        <div class="card new-key" role="status">
          <h2>Key {created.name} created</h2>
          <p>
            <strong>Copy it now: it is shown this once.</strong>
          </p>
          <CopyField id="new-key" label={`API key ${created.name}`} value={created.key} />
          <button type="button" class="secondary" onClick={() => setCreated(null)}>
            I have copied it
          </button>
        </div>
      ) : null}
      {keys === null ? (
        <p role="status">Loading…</p>
      ) : keys.length === 0 ? (
        <p>No keys yet besides the bootstrap key (API_KEY), which is not listed.</p>
      ) : (
        <table class="plain">
          <caption class="visually-hidden">API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id} data-key={k.id}>
                <td data-label="Name">{k.name}</td>
                <td data-label="Created">{formatTime(k.createdAt)}</td>
                <td data-label="State">{k.revokedAt ? `revoked ${formatTime(k.revokedAt)}` : 'active'}</td>
                <td>
                  {k.revokedAt ? null : (
                    <button
                      type="button"
                      class="secondary danger-text"
                      onClick={() => setRevoking(k)}
                      aria-label={`Revoke ${k.name}`}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke the key ${revoking?.name ?? ''}?`}
        confirmLabel="Revoke key"
        danger
        onConfirm={() => void revoke()}
        onCancel={() => setRevoking(null)}
      >
        <p>Programs using it get 401 at once. If it is the key you signed in with, you will be signed out.</p>
      </ConfirmDialog>
    </>
  );
}
