import { JsonBlock } from '../components/common';
import { foreignType, type StepDraft } from './draft';

// What the form shows of parts it has no fields for: a branch or forEach with its nested steps,
// other step types (sql, broker, email…) and the flow's onError. Read-only here, edited in the
// JSON tab; the form keeps them as they are, so saving from the form loses nothing.

const NESTED_HINT: Record<string, string> = {
  branch: 'A branch runs the steps of the first case whose "when" is true (or "default").',
  forEach: 'A forEach runs its steps once for each item that "items" gives.',
};

function nestedCount(extra: Record<string, unknown>): number {
  const count = (v: unknown): number =>
    Array.isArray(v)
      ? v.reduce<number>((n, s: unknown) => {
          const o = s as Record<string, unknown> | null;
          return n + 1 + (o && typeof o === 'object' ? nestedCount(o) : 0);
        }, 0)
      : 0;
  const cases = Array.isArray(extra.cases) ? (extra.cases as Array<Record<string, unknown>>) : [];
  return count(extra.steps) + count(extra.default) + cases.reduce((n, c) => n + count(c?.steps), 0);
}

export function JsonOnlyStep(props: { step: StepDraft; path: string }) {
  const type = foreignType(props.step)!;
  const { type: _type, ...fields } = props.step.extra;
  const nested = nestedCount(fields);
  return (
    <div class="json-only" data-json-only={type}>
      <p>
        <strong>Type: {type}</strong>
        {nested ? ` · ${nested} nested step${nested === 1 ? '' : 's'}` : ''}
      </p>
      <p class="hint">
        {NESTED_HINT[type] ?? ''} This form shows it read-only: edit it in the <strong>JSON</strong> tab. Its
        id, condition and retries below can be changed here.
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
