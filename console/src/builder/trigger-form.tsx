import { createContext } from 'preact';
import { useContext, useMemo } from 'preact/hooks';
import { CheckboxField, GroupErrors, SelectField, TextArea, TextField, fieldId } from '../components/fields';
import { CronPreview } from './cron-preview';
import { HOOK_METHODS, VERIFY_FIELDS, type TriggerDraft, type VerifyDraft, type VerifyScheme } from './draft';

/** Names of the stored secrets, for the "use a stored secret" pickers. */
export const SecretNamesContext = createContext<string[]>([]);

/** Fills a field with `{{ $secrets.NAME }}`: secrets are referred to by name, never pasted in. */
export function SecretPicker(props: { field: string; label: string; onPick: (template: string) => void }) {
  const names = useContext(SecretNamesContext);
  const id = `${fieldId(props.field)}-secret`;
  return (
    <div class="secret-picker">
      <label for={id}>Use a stored secret for {props.label.toLowerCase()}</label>
      <select
        id={id}
        value=""
        onChange={(e) => {
          const name = e.currentTarget.value;
          if (name) props.onPick(`{{ $secrets.${name} }}`);
        }}
      >
        <option value="">{names.length ? 'Choose a secret…' : 'No secrets yet (see Secrets)'}</option>
        {names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </div>
  );
}

const SCHEME_LABELS: Record<VerifyScheme | '', string> = {
  '': 'No verification',
  github: 'GitHub (X-Hub-Signature-256)',
  stripe: 'Stripe (Stripe-Signature)',
  slack: 'Slack (X-Slack-Signature)',
  shopify: 'Shopify (X-Shopify-Hmac-Sha256)',
  'standard-webhooks': 'Standard Webhooks / Svix',
  hmac: 'Any HMAC signature in a header',
  token: 'A shared token in a header',
  basic: 'HTTP Basic username and password',
};

const SCHEME_HELP: Partial<Record<VerifyScheme, string>> = {
  github: 'Repository or organisation → Settings → Webhooks → Secret; content type application/json.',
  stripe: 'Dashboard → Developers → Webhooks → your endpoint → Signing secret (whsec_…).',
  slack: 'Your Slack app → Basic Information → Signing Secret.',
  shopify: 'Settings → Notifications → Webhooks (the key shown there), or your app’s client secret.',
  'standard-webhooks': 'The endpoint’s signing secret, whsec_…',
};

/** The provider's delivery id: repeats of one delivery run once. */
export const IDEMPOTENCY_SUGGESTIONS: Partial<Record<VerifyScheme, string>> = {
  github: 'event.headers."x-github-delivery"',
  stripe: 'event.body.id',
  slack: 'event.body.event_id',
  shopify: 'event.headers."x-shopify-webhook-id"',
  'standard-webhooks': 'event.headers."webhook-id"',
};

const VERIFY_LABELS: Record<keyof VerifyDraft, string> = {
  scheme: 'Scheme',
  secret: 'Signing secret',
  toleranceSec: 'Tolerance in seconds (default 300)',
  header: 'Header name',
  algorithm: 'Algorithm',
  encoding: 'Encoding',
  prefix: 'Prefix (optional, e.g. sha256=)',
  value: 'Expected value',
  username: 'Username',
  password: 'Password',
};
const SECRET_LIKE = new Set<keyof VerifyDraft>(['secret', 'value', 'password']);

function VerifyFields(props: { verify: VerifyDraft; onChange: (v: Partial<VerifyDraft>) => void }) {
  const scheme = props.verify.scheme;
  if (!scheme) return null;
  return (
    <div class="indent">
      {SCHEME_HELP[scheme] ? <p class="hint">Where to find it: {SCHEME_HELP[scheme]}</p> : null}
      {VERIFY_FIELDS[scheme].map((k) => {
        const field = `trigger.verify.${k}`;
        if (k === 'algorithm')
          return (
            <SelectField
              key={k}
              field={field}
              label={VERIFY_LABELS[k]}
              value={props.verify.algorithm}
              options={[
                ['sha1', 'SHA-1'],
                ['sha256', 'SHA-256'],
                ['sha512', 'SHA-512'],
              ]}
              onChange={(v) => props.onChange({ algorithm: v })}
            />
          );
        if (k === 'encoding')
          return (
            <SelectField
              key={k}
              field={field}
              label={VERIFY_LABELS[k]}
              value={props.verify.encoding}
              options={[
                ['hex', 'hex'],
                ['base64', 'base64'],
              ]}
              onChange={(v) => props.onChange({ encoding: v })}
            />
          );
        return (
          <div key={k} class={SECRET_LIKE.has(k) ? 'with-picker' : undefined}>
            <TextField
              field={field}
              label={VERIFY_LABELS[k]}
              value={props.verify[k]}
              mono
              required={k !== 'toleranceSec' && k !== 'prefix'}
              inputMode={k === 'toleranceSec' ? 'numeric' : undefined}
              hint={
                SECRET_LIKE.has(k)
                  ? 'Best as {{ $secrets.NAME }}: the value stays encrypted and masked.'
                  : undefined
              }
              onInput={(v) => props.onChange({ [k]: v })}
            />
            {SECRET_LIKE.has(k) ? (
              <SecretPicker
                field={field}
                label={VERIFY_LABELS[k]}
                onPick={(v) => props.onChange({ [k]: v })}
              />
            ) : null}
          </div>
        );
      })}
    </div>
  );
}

export function TriggerForm(props: {
  trigger: TriggerDraft;
  stepIds: string[];
  onChange: (patch: Partial<TriggerDraft>) => void;
}) {
  const t = props.trigger;
  const set = props.onChange;
  const zones = useMemo(() => {
    try {
      return Intl.supportedValuesOf('timeZone');
    } catch {
      return ['UTC'];
    }
  }, []);
  const methods = t.methods ?? ['POST'];
  const suggestion = t.verify.scheme ? IDEMPOTENCY_SUGGESTIONS[t.verify.scheme] : undefined;
  return (
    <section class="card" aria-labelledby="trigger-title">
      <h2 id="trigger-title">Trigger</h2>
      <SelectField
        field="trigger.type"
        label="Starts when"
        value={t.type}
        options={[
          ['webhook', 'A webhook arrives at its trigger URL'],
          ['schedule', 'On a schedule (cron)'],
          ['event', 'An event is published'],
        ]}
        onChange={(type) => set({ type })}
      />
      {t.type === 'webhook' ? (
        <>
          <fieldset class="inline" id={fieldId('trigger.methods')}>
            <legend>Accepted methods</legend>
            {HOOK_METHODS.map((m) => (
              <CheckboxField
                key={m}
                field={`trigger.methods.${m}`}
                label={m}
                checked={methods.includes(m)}
                onChange={(on) =>
                  set({
                    methods: on
                      ? HOOK_METHODS.filter((x) => x === m || methods.includes(x))
                      : methods.filter((x) => x !== m),
                  })
                }
              />
            ))}
            <GroupErrors field="trigger.methods" />
          </fieldset>
          <SelectField
            field="trigger.verify.scheme"
            label="Verify the sender"
            value={t.verify.scheme}
            hint="Requests whose signature does not match are refused with 401 and start nothing."
            options={(Object.keys(SCHEME_LABELS) as Array<VerifyScheme | ''>).map((k) => [
              k,
              SCHEME_LABELS[k],
            ])}
            onChange={(scheme) => set({ verify: { ...t.verify, scheme } })}
          />
          <GroupErrors field="trigger.verify" />
          <VerifyFields verify={t.verify} onChange={(v) => set({ verify: { ...t.verify, ...v } })} />
          <TextField
            field="trigger.idempotencyKey"
            label="Idempotency key (optional)"
            value={t.idempotencyKey}
            mono
            hint="A JSONata expression over the event; a value seen before answers as a duplicate and runs nothing."
            placeholder={suggestion ?? 'event.headers."x-delivery-id"'}
            onInput={(v) => set({ idempotencyKey: v })}
          />
          {suggestion && t.idempotencyKey !== suggestion ? (
            <button type="button" class="link" onClick={() => set({ idempotencyKey: suggestion })}>
              Use the provider’s delivery id ({suggestion})
            </button>
          ) : null}
          <SelectField
            field="trigger.response.mode"
            label="Answer to the sender"
            value={t.responseMode}
            options={[
              ['async', '202 at once, run in the background'],
              ['sync', 'Wait for the run and answer with a step’s output'],
            ]}
            onChange={(responseMode) => set({ responseMode, responseSet: true })}
          />
          <GroupErrors field="trigger.response" />
          {t.responseMode === 'sync' ? (
            <div class="indent grid-2">
              <TextField
                field="trigger.response.timeoutMs"
                label="Wait at most (ms, up to 30000)"
                inputMode="numeric"
                value={t.responseTimeoutMs}
                placeholder="10000"
                onInput={(v) => set({ responseTimeoutMs: v })}
              />
              <SelectField
                field="trigger.response.step"
                label="Answer with the output of"
                value={t.responseStep}
                options={[
                  ['', 'The last step'],
                  ...props.stepIds.filter(Boolean).map((id): [string, string] => [id, id]),
                ]}
                onChange={(responseStep) => set({ responseStep })}
              />
            </div>
          ) : null}
          <TextField
            field="trigger.maxBody"
            label="Largest body (optional)"
            value={t.maxBody}
            placeholder="1mb"
            hint='Bytes or a size like "256kb"; default WEBHOOK_MAX_BODY.'
            onInput={(v) => set({ maxBody: v })}
          />
        </>
      ) : t.type === 'schedule' ? (
        <>
          <div class="grid-2">
            <TextField
              field="trigger.cron"
              label="Cron"
              value={t.cron}
              mono
              required
              hint="minute hour day-of-month month day-of-week, or 6 fields with seconds first: */10 * * * * *"
              onInput={(cron) => set({ cron })}
            />
            <TextField
              field="trigger.timezone"
              label="Time zone"
              value={t.timezone}
              list="hf-zones"
              placeholder="UTC"
              hint="An IANA name, e.g. Europe/Berlin"
              onInput={(timezone) => set({ timezone })}
            />
          </div>
          <datalist id="hf-zones">
            {zones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
          <CronPreview cron={t.cron} timezone={t.timezone} />
          <TextArea
            field="trigger.payload"
            label="Payload (optional JSON, becomes event.body)"
            value={t.payloadText}
            rows={3}
            onInput={(payloadText) => set({ payloadText })}
          />
        </>
      ) : (
        <TextField
          field="trigger.event"
          label="Event type"
          value={t.event}
          mono
          required
          placeholder="order.paid"
          hint="Runs for POST /api/v1/events and emit steps of this type; letters, digits and _ . : - /"
          onInput={(event) => set({ event })}
        />
      )}
    </section>
  );
}
