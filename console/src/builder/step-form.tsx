import { useState } from 'preact/hooks';
import { CheckboxField, fieldId, GroupErrors, SelectField, TextField } from '../components/fields';
import { foreignType, STEP_TYPES, type StepDraft, type StepType } from './draft';
import { JsonOnlyStep } from './json-only';
import { StepTypeFields } from './step-fields';

export const STEP_TYPE_LABELS: Record<StepType, string> = {
  transform: 'Transform: reshape data with an expression',
  http: 'HTTP request: call a URL (webhook, API)',
  slack: 'Slack message',
  delay: 'Delay: wait, then go on',
  emit: 'Emit an event to other flows',
  branch: 'Branch: run the steps of the case that matches',
  forEach: 'For each item: run steps once per item of a list',
};

const OUTBOUND = new Set<StepType>(['http', 'slack']);

/** One step: its id, type and condition, its type's fields, then retry policy under "More". */
export function StepForm(props: {
  step: StepDraft;
  index: number;
  count: number;
  /** Inside a branch or forEach: the step's path (`steps[0].cases[1].steps[2]`) and number (`1.2.3`). */
  path?: string;
  number?: string;
  onChange: (patch: Partial<StepDraft>) => void;
  onMove: (delta: -1 | 1) => void;
  onRemove: () => void;
}) {
  const { step, index } = props;
  const path = props.path ?? `steps[${index}]`;
  const number = props.number ?? String(index + 1);
  const set = props.onChange;
  const foreign = foreignType(step);
  const title = `Step ${number}: ${step.id || '(no id)'} (${foreign ?? step.type})`;
  const defaultAttempts = OUTBOUND.has(step.type) ? 5 : 1;
  // Open at first when it holds something; after that the user folds it (a changing `open` would
  // close it under the cursor when a field is cleared).
  const [moreOpen] = useState(
    () => !!(step.attempts || step.backoffType || step.timeoutMs || step.name || step.continueOnError),
  );
  return (
    <fieldset class="card step" id={fieldId(path)}>
      <legend>{title}</legend>
      <div class="step-tools" role="group" aria-label={`Arrange ${title}`}>
        <button
          type="button"
          class="secondary"
          disabled={index === 0}
          onClick={() => props.onMove(-1)}
          aria-label={`Move step ${number} up`}
        >
          ↑ Up
        </button>
        <button
          type="button"
          class="secondary"
          disabled={index === props.count - 1}
          onClick={() => props.onMove(1)}
          aria-label={`Move step ${number} down`}
        >
          ↓ Down
        </button>
        <button
          type="button"
          class="secondary danger-text"
          onClick={props.onRemove}
          aria-label={`Remove step ${number}`}
        >
          Remove
        </button>
      </div>
      <GroupErrors field={path} />
      <div class="grid-2">
        <TextField
          field={`${path}.id`}
          label="Step id"
          value={step.id}
          mono
          required
          hint={`Later steps read its output as steps.${step.id || '<id>'}`}
          onInput={(id) => set({ id })}
        />
        {foreign ? null : (
          <SelectField
            field={`${path}.type`}
            label="Type"
            value={step.type}
            options={STEP_TYPES.map((t): [StepType, string] => [t, STEP_TYPE_LABELS[t]])}
            onChange={(type) => set({ type })}
          />
        )}
      </div>
      {foreign ? (
        <JsonOnlyStep step={step} path={path} />
      ) : (
        <StepTypeFields step={step} path={path} number={number} onChange={set} />
      )}
      <TextField
        field={`${path}.if`}
        label="Run only if (optional JSONata)"
        value={step.if}
        mono
        placeholder="steps.summary.n > 0"
        hint="When it is false the step is skipped."
        onInput={(v) => set({ if: v })}
      />
      <details class="more" open={moreOpen}>
        <summary>Retries, timeout and name</summary>
        <TextField
          field={`${path}.name`}
          label="Display name (optional)"
          value={step.name}
          onInput={(name) => set({ name })}
        />
        <fieldset id={fieldId(`${path}.retry`)}>
          <legend>Retry policy</legend>
          <GroupErrors field={`${path}.retry`} />
          <div class="grid-2">
            <TextField
              field={`${path}.retry.attempts`}
              label="Attempts in all (1–25)"
              value={step.attempts}
              inputMode="numeric"
              placeholder={String(defaultAttempts)}
              hint={`Default ${defaultAttempts}, the first try included.`}
              onInput={(attempts) => set({ attempts })}
            />
            <SelectField
              field={`${path}.retry.backoff.type`}
              label="Wait between attempts"
              value={step.backoffType}
              options={[
                ['', 'Default (exponential from 1 s)'],
                ['exponential', 'Exponential'],
                ['fixed', 'Fixed'],
              ]}
              onChange={(backoffType) => set({ backoffType })}
            />
            {step.backoffType ? (
              <>
                <TextField
                  field={`${path}.retry.backoff.delayMs`}
                  label="First delay (ms)"
                  value={step.delayMs}
                  inputMode="numeric"
                  required
                  placeholder="1000"
                  onInput={(delayMs) => set({ delayMs })}
                />
                <TextField
                  field={`${path}.retry.backoff.maxDelayMs`}
                  label="Longest delay (ms, optional)"
                  value={step.maxDelayMs}
                  inputMode="numeric"
                  placeholder="3600000"
                  onInput={(maxDelayMs) => set({ maxDelayMs })}
                />
              </>
            ) : null}
          </div>
          <GroupErrors field={`${path}.retry.backoff`} />
        </fieldset>
        <TextField
          field={`${path}.timeoutMs`}
          label="Timeout (ms, optional)"
          value={step.timeoutMs}
          inputMode="numeric"
          placeholder={step.type === 'http' ? '10000' : ''}
          onInput={(timeoutMs) => set({ timeoutMs })}
        />
        <CheckboxField
          field={`${path}.continueOnError`}
          label="Continue the flow when this step fails"
          checked={step.continueOnError}
          onChange={(continueOnError) => set({ continueOnError })}
        />
      </details>
    </fieldset>
  );
}
