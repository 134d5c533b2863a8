import { useState } from 'preact/hooks';
import { api, ApiError, errorText, session } from '../api/client';
import { Notice, PageTitle } from '../components/common';

export function SignInPage(props: { reason?: string; onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    setBusy(true);
    try {
      await api.check(key.trim());
      session.signIn(key.trim());
      props.onSignedIn();
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'This key is not valid (or was revoked).'
          : errorText(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="sign-in card">
      <PageTitle>Sign in to hookflow</PageTitle>
      <Notice>{props.reason}</Notice>
      <form onSubmit={(e) => void submit(e)}>
        <div class="field">
          <label for="api-key">API key</label>
          <div class="hint" id="api-key-hint">
            The API_KEY the server was started with (its log prints one when unset), or a key made under API
            keys. It is kept for this browser tab only.
          </div>
          <input
            id="api-key"
            type="password"
            autoComplete="current-password"
            required
            value={key}
            aria-describedby="api-key-hint"
            onInput={(e) => setKey(e.currentTarget.value)}
          />
        </div>
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <Notice kind="error">{error}</Notice>
      </form>
    </div>
  );
}
