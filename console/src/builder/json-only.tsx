import { JsonBlock } from '../components/common';
import { foreignType, type StepDraft } from './draft';

// What the form shows of parts it has no fields for: step types such as sql, a broker or email,
// and the flow's onError. Read-only here, edited in the JSON tab; the form keeps them as they
// are, so saving from the form loses nothing.

export function JsonOnlyStep(props: { step: StepDraft; path: string }) {
  const type = foreignType(props.step)!;
  const { type: _type, ...fields } = props.step.extra;
  return (
    <div class="json-only" data-json-only={type}>
      <p>
        <strong>Type: {type}</strong>
      </p>
      <p class="hint">
        This form has no fields for this type and shows it read-only: edit it in the <strong>JSON</strong>{' '}
        tab. Its id, condition and retries below can be changed here.
      </p>
      <details>
        <summary>Its definition</summary>
        <JsonBlock value={fields} label={`${props.path} definition`} />
      </details>
    </div>
  );
}

export function OnErrorReadOnly(props: { onError: Record<string, unknown> }) {
  const steps = Array.isArray(props.onError.steps) ? props.onError.steps.length : 0;
  return (
    <section aria-labelledby="on-error-form-title" class="card json-only">
      <h2 id="on-error-form-title">On error</h2>
      <p>
        {steps} step{steps === 1 ? '' : 's'} run once when a run is about to end failed. Edit them in the{' '}
        <strong>JSON</strong> tab (<code>onError.steps</code>).
      </p>
      <JsonBlock value={props.onError} label="onError definition" />
    </section>
  );
}
