import { SelectField, TextArea, TextField } from '../components/fields';
import { BranchFields, ForEachFields } from './control-flow-fields';
import { HTTP_METHODS, type SignDraft, type StepDraft } from './draft';
import { KvEditor, ValueEditor } from './kv-editor';
import { SecretPicker } from './trigger-form';

// The fields of each step type (API.md section 3, "Steps"). Field keys are the API's paths.

type Props = { step: StepDraft; path: string; onChange: (patch: Partial<StepDraft>) => void };

const TEMPLATE_HINT =
  'Text with {{ expression }} parts, e.g. {{ steps.summary.who }} or {{ event.body.id }}.';

function TransformFields({ step, path, onChange }: Props) {
  return (
    <TextArea
      field={`${path}.expression`}
      label="Expression (JSONata)"
      value={step.expression}
      rows={4}
      required
      hint="Its value is this step's output (steps.<id>), e.g. { 'who': event.body.pusher.name, 'n': $count(event.body.commits) }"
      onInput={(expression) => onChange({ expression })}
    />
  );
}

function SignFields({ step, path, onChange }: Props) {
  const sign = step.sign;
  const set = (patch: Partial<SignDraft>) => onChange({ sign: { ...sign, ...patch } });
  return (
    <fieldset>
      <legend>Sign the request</legend>
      <SelectField
        field={`${path}.sign.scheme`}
        label="Signature"
        value={sign.scheme}
        options={[
          ['', 'Not signed'],
          ['standard-webhooks', 'Standard Webhooks (webhook-id, -timestamp, -signature)'],
          ['hmac', 'HMAC of the body in a header'],
        ]}
        onChange={(scheme) => set({ scheme })}
      />
      {sign.scheme ? (
        <div class="indent">
          <TextField
            field={`${path}.sign.secret`}
            label="Signing secret"
            value={sign.secret}
            mono
            required
            hint={
              sign.scheme === 'standard-webhooks'
                ? 'whsec_… — best as {{ $secrets.NAME }}'
                : 'Best as {{ $secrets.NAME }}'
            }
            onInput={(secret) => set({ secret })}
          />
          <SecretPicker
            field={`${path}.sign.secret`}
            label="Signing secret"
            onPick={(secret) => set({ secret })}
          />
          {sign.scheme === 'hmac' ? (
            <div class="grid-2">
              <TextField
                field={`${path}.sign.header`}
                label="Header"
                value={sign.header}
                mono
                onInput={(header) => set({ header })}
              />
              <TextField
                field={`${path}.sign.prefix`}
                label="Prefix (optional)"
                value={sign.prefix}
                mono
                placeholder="sha256="
                onInput={(prefix) => set({ prefix })}
              />
              <SelectField
                field={`${path}.sign.algorithm`}
                label="Algorithm"
                value={sign.algorithm}
                options={[
                  ['sha1', 'SHA-1'],
                  ['sha256', 'SHA-256'],
                  ['sha512', 'SHA-512'],
                ]}
                onChange={(algorithm) => set({ algorithm })}
              />
              <SelectField
                field={`${path}.sign.encoding`}
                label="Encoding"
                value={sign.encoding}
                options={[
                  ['hex', 'hex'],
                  ['base64', 'base64'],
                ]}
                onChange={(encoding) => set({ encoding })}
              />
            </div>
          ) : null}
        </div>
      ) : null}
    </fieldset>
  );
}

function HttpFields(props: Props) {
  const { step, path, onChange } = props;
  return (
    <>
      <div class="grid-method">
        <SelectField
          field={`${path}.method`}
          label="Method"
          value={step.method}
          options={HTTP_METHODS.map((m): [string, string] => [m, m])}
          onChange={(method) => onChange({ method })}
        />
        <TextField
          field={`${path}.url`}
          label="URL"
          value={step.url}
          mono
          required
          inputMode="url"
          placeholder="https://api.example.com/hooks"
          hint={TEMPLATE_HINT}
          onInput={(url) => onChange({ url })}
        />
      </div>
      <KvEditor
        field={`${path}.headers`}
        legend="Headers"
        keyLabel="Header"
        rows={step.headers}
        onChange={(headers) => onChange({ headers })}
      />
      <KvEditor
        field={`${path}.query`}
        legend="Query parameters"
        keyLabel="Parameter"
        rows={step.query}
        onChange={(query) => onChange({ query })}
      />
      <ValueEditor
        field={`${path}.body`}
        legend="Body"
        mode={step.bodyMode}
        fields={step.bodyFields}
        text={step.bodyText}
        onChange={(p) =>
          onChange({
            ...(p.mode !== undefined ? { bodyMode: p.mode } : {}),
            ...(p.fields !== undefined ? { bodyFields: p.fields } : {}),
            ...(p.text !== undefined ? { bodyText: p.text } : {}),
          })
        }
      />
      <SignFields {...props} />
    </>
  );
}

function SlackFields({ step, path, onChange }: Props) {
  return (
    <>
      <SelectField
        field={`${path}.slackMode`}
        label="Post with"
        value={step.slackMode}
        options={[
          ['webhook', 'An incoming webhook URL'],
          ['api', 'A bot token (chat.postMessage)'],
        ]}
        onChange={(slackMode) => onChange({ slackMode })}
      />
      {step.slackMode === 'webhook' ? (
        <>
          <TextField
            field={`${path}.webhookUrl`}
            label="Incoming webhook URL"
            value={step.webhookUrl}
            mono
            required
            hint="https://hooks.slack.com/services/… — best kept as a secret: {{ $secrets.SLACK_HOOK }}"
            onInput={(webhookUrl) => onChange({ webhookUrl })}
          />
          <SecretPicker
            field={`${path}.webhookUrl`}
            label="Incoming webhook URL"
            onPick={(webhookUrl) => onChange({ webhookUrl })}
          />
        </>
      ) : (
        <div class="grid-2">
          <div>
            <TextField
              field={`${path}.token`}
              label="Bot token"
              value={step.token}
              mono
              required
              hint="xoxb-… — best as {{ $secrets.SLACK_BOT_TOKEN }}"
              onInput={(token) => onChange({ token })}
            />
            <SecretPicker field={`${path}.token`} label="Bot token" onPick={(token) => onChange({ token })} />
          </div>
          <TextField
            field={`${path}.channel`}
            label="Channel"
            value={step.channel}
            mono
            required
            placeholder="#deploys"
            onInput={(channel) => onChange({ channel })}
          />
        </div>
      )}
      <TextArea
        field={`${path}.text`}
        label="Message text"
        value={step.text}
        rows={3}
        hint={TEMPLATE_HINT}
        onInput={(text) => onChange({ text })}
      />
      <TextArea
        field={`${path}.blocks`}
        label="Blocks (optional: a JSON list, or one {{ expression }})"
        value={step.blocksText}
        rows={3}
        onInput={(blocksText) => onChange({ blocksText })}
      />
    </>
  );
}

function DelayFields({ step, path, onChange }: Props) {
  return (
    <>
      <SelectField
        field={`${path}.delayMode`}
        label="Wait"
        value={step.delayMode}
        options={[
          ['ms', 'For a time'],
          ['until', 'Until a moment'],
        ]}
        onChange={(delayMode) => onChange({ delayMode })}
      />
      {step.delayMode === 'ms' ? (
        <TextField
          field={`${path}.ms`}
          label="Milliseconds (up to 30 days)"
          value={step.ms}
          inputMode="numeric"
          required
          placeholder="900000"
          hint="900000 is 15 minutes. No worker is held while it waits."
          onInput={(ms) => onChange({ ms })}
        />
      ) : (
        <TextField
          field={`${path}.until`}
          label="Until (ISO time or template)"
          value={step.until}
          mono
          required
          placeholder="2030-01-01T09:00:00Z or {{ event.body.remindAt }}"
          onInput={(until) => onChange({ until })}
        />
      )}
    </>
  );
}

function EmitFields({ step, path, onChange }: Props) {
  return (
    <>
      <TextField
        field={`${path}.event`}
        label="Event type"
        value={step.event}
        mono
        required
        placeholder="order.paid"
        hint="Flows whose trigger listens to this type run; may hold {{ }} parts."
        onInput={(event) => onChange({ event })}
      />
      <ValueEditor
        field={`${path}.data`}
        legend="Data"
        mode={step.dataMode}
        fields={step.dataFields}
        text={step.dataText}
        onChange={(p) =>
          onChange({
            ...(p.mode !== undefined ? { dataMode: p.mode } : {}),
            ...(p.fields !== undefined ? { dataFields: p.fields } : {}),
            ...(p.text !== undefined ? { dataText: p.text } : {}),
          })
        }
      />
    </>
  );
}

/** `number`: the step's number in the form (`2`, `2.1.3`), which its nested steps continue. */
export function StepTypeFields(props: Props & { number: string }) {
  switch (props.step.type) {
    case 'transform':
      return <TransformFields {...props} />;
    case 'http':
      return <HttpFields {...props} />;
    case 'slack':
      return <SlackFields {...props} />;
    case 'delay':
      return <DelayFields {...props} />;
    case 'emit':
      return <EmitFields {...props} />;
    case 'branch':
      return <BranchFields {...props} />;
    case 'forEach':
      return <ForEachFields {...props} />;
  }
}
