import { Notice } from '../components/common';

/**
 * The flow as the API takes it, for people who prefer JSON. "Apply" loads it back into the form;
 * fields the form has no control for are kept as they are, so the round trip loses nothing.
 */
export function JsonView(props: {
  text: string;
  error: string;
  onInput: (text: string) => void;
  onApply: () => void;
}) {
  return (
    <div class="json-view">
      <div class="field">
        <label for="flow-json">Flow definition (JSON)</label>
        <div class="hint" id="flow-json-hint">
          The body of POST /api/v1/flows. Apply it to see it in the form; Save stores it.
        </div>
        <textarea
          id="flow-json"
          class="mono"
          rows={28}
          spellcheck={false}
          value={props.text}
          aria-describedby="flow-json-hint"
          aria-invalid={props.error ? true : undefined}
          onInput={(e) => props.onInput(e.currentTarget.value)}
        />
      </div>
      <Notice kind="error">{props.error}</Notice>
      <button type="button" class="secondary" onClick={props.onApply}>
        Apply JSON to the form
      </button>
    </div>
  );
}
