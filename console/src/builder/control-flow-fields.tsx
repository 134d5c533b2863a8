import { createContext } from 'preact';
import { useContext, useState } from 'preact/hooks';
import { CheckboxField, fieldId, SelectField, TextField } from '../components/fields';
import {
  emptyCase,
  emptyStep,
  freshStepId,
  STEP_TYPES,
  type CaseDraft,
  type StepDraft,
  type StepType,
} from './draft';
import { STEP_TYPE_LABELS, StepForm } from './step-form';

// The fields of a branch (cases, each with its own list of steps, and a default) and of a forEach
// (items and the steps run per item). Nested lists use the same step forms as the flow's own list;
// their field keys are the API's paths (`steps[0].cases[1].steps[2].url`), so a 400 lands on them.

/** The flow's top-level steps, so a step added anywhere gets an id unique in the whole flow. */
export const FlowStepsContext = createContext<StepDraft[]>([]);

type Props = { step: StepDraft; path: string; number: string; onChange: (patch: Partial<StepDraft>) => void };

/** A list of steps inside a branch case, a default or a forEach, with its own "Add step". */
function NestedSteps(props: {
  steps: StepDraft[];
  path: string;
  number: string;
  where: string;
  onChange: (steps: StepDraft[]) => void;
}) {
  const flowSteps = useContext(FlowStepsContext);
  const [type, setType] = useState<StepType>('http');
  const { steps, onChange } = props;
  const selectId = `${fieldId(props.path)}-new`;
  const move = (i: number, delta: -1 | 1) => {
    const next = [...steps];
    [next[i], next[i + delta]] = [next[i + delta], next[i]];
    onChange(next);
  };
  return (
    <div class="nested-steps">
      {steps.length === 0 ? <p class="hint">No steps {props.where} yet.</p> : null}
      {steps.map((s, i) => (
        <StepForm
          key={s.uid}
          step={s}
          index={i}
          count={steps.length}
          path={`${props.path}[${i}]`}
          number={`${props.number}.${i + 1}`}
          onChange={(patch) => onChange(steps.map((x) => (x.uid === s.uid ? { ...x, ...patch } : x)))}
          onMove={(delta) => move(i, delta)}
          onRemove={() => onChange(steps.filter((x) => x.uid !== s.uid))}
        />
      ))}
      <div class="add-step">
        <div class="field">
          <label for={selectId}>New step type ({props.where})</label>
          <select id={selectId} value={type} onChange={(e) => setType(e.currentTarget.value as StepType)}>
            {STEP_TYPES.map((t) => (
              <option key={t} value={t}>
                {STEP_TYPE_LABELS[t]}
              </option>
            ))}
          </select>
        </div>
        <button
          type="button"
          class="secondary"
          onClick={() => onChange([...steps, emptyStep(type, freshStepId(flowSteps, type))])}
        >
          Add step {props.where}
        </button>
      </div>
    </div>
  );
}

export function BranchFields({ step, path, number, onChange }: Props) {
  const setCase = (uid: string, patch: Partial<CaseDraft>) =>
    onChange({ cases: step.cases.map((c) => (c.uid === uid ? { ...c, ...patch } : c)) });
  return (
    <>
      <SelectField
        field={`${path}.mode`}
        label="Cases that run"
        value={step.branchMode}
        options={[
          ['', 'The first case whose condition is true'],
          ['all', 'Every case whose condition is true, in order'],
        ]}
        hint="When no case matches, the default steps run (if any). Later steps read steps.<id> of the steps that ran."
        onChange={(branchMode) => onChange({ branchMode })}
      />
      {step.cases.map((c, ci) => {
        const cp = `${path}.cases[${ci}]`;
        const name = `case ${c.id || ci + 1} of ${step.id || 'this branch'}`;
        return (
          <fieldset key={c.uid} class="case" id={fieldId(cp)}>
            <legend>
              Case {ci + 1}
              {c.id ? `: ${c.id}` : ''}
            </legend>
            <div class="grid-2">
              <TextField
                field={`${cp}.id`}
                label="Case id (optional)"
                value={c.id}
                mono
                hint="Shown in the run as the case that ran."
                onInput={(id) => setCase(c.uid, { id })}
              />
              <TextField
                field={`${cp}.when`}
                label="When (JSONata)"
                value={c.when}
                mono
                required
                placeholder="event.body.type = 'invoice.paid'"
                onInput={(when) => setCase(c.uid, { when })}
              />
            </div>
            <NestedSteps
              steps={c.steps}
              path={`${cp}.steps`}
              number={`${number}.${ci + 1}`}
              where={`in ${name}`}
              onChange={(steps) => setCase(c.uid, { steps })}
            />
            <button
              type="button"
              class="secondary danger-text"
              onClick={() => onChange({ cases: step.cases.filter((x) => x.uid !== c.uid) })}
            >
              Remove {name}
            </button>
          </fieldset>
        );
      })}
      <button
        type="button"
        class="secondary"
        onClick={() => onChange({ cases: [...step.cases, emptyCase()] })}
      >
        Add a case to {step.id || 'this branch'}
      </button>
      <CheckboxField
        field={`${path}.default`}
        label="Default steps, when no case matches"
        checked={step.hasDefault}
        onChange={(hasDefault) => onChange({ hasDefault })}
      />
      {step.hasDefault ? (
        <fieldset class="case">
          <legend>Default</legend>
          <NestedSteps
            steps={step.defaultSteps}
            path={`${path}.default`}
            number={`${number}.d`}
            where={`in the default of ${step.id || 'this branch'}`}
            onChange={(defaultSteps) => onChange({ defaultSteps })}
          />
        </fieldset>
      ) : null}
    </>
  );
}

export function ForEachFields({ step, path, number, onChange }: Props) {
  return (
    <>
      <TextField
        field={`${path}.items`}
        label="Items (JSONata giving a list)"
        value={step.items}
        mono
        required
        placeholder="event.body.commits"
        hint="Inside the loop, expressions see item and index (from 0)."
        onInput={(items) => onChange({ items })}
      />
      <div class="grid-2">
        <TextField
          field={`${path}.concurrency`}
          label="Items at once (1–50, optional)"
          value={step.concurrency}
          inputMode="numeric"
          placeholder="1"
          onInput={(concurrency) => onChange({ concurrency })}
        />
        <TextField
          field={`${path}.maxItems`}
          label="Most items (optional)"
          value={step.maxItems}
          inputMode="numeric"
          placeholder="1000"
          onInput={(maxItems) => onChange({ maxItems })}
        />
      </div>
      <SelectField
        field={`${path}.onItemError`}
        label="When an item fails"
        value={step.onItemError}
        options={[
          ['', 'Stop: items not started are cancelled (default)'],
          ['continue', 'Continue: every item runs'],
          ['stop', 'Stop (said explicitly)'],
        ]}
        onChange={(onItemError) => onChange({ onItemError })}
      />
      <NestedSteps
        steps={step.children}
        path={`${path}.steps`}
        number={number}
        where={`for each item of ${step.id || 'this loop'}`}
        onChange={(children) => onChange({ children })}
      />
    </>
  );
}
