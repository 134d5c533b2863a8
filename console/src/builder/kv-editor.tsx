import { useContext } from 'preact/hooks';
import { ErrorsContext, fieldId, GroupErrors } from '../components/fields';
import type { KvRow, ValueMode } from './draft';

/**
 * Name/value rows (headers, query, body fields): each row is a labelled pair of inputs, so the
 * list works with a keyboard and a screen reader. Row values are templates.
 */
export function KvEditor(props: {
  field: string;
  legend: string;
  keyLabel?: string;
  rows: KvRow[];
  onChange: (rows: KvRow[]) => void;
  hint?: string;
}) {
  const errors = useContext(ErrorsContext);
  const set = (i: number, patch: Partial<KvRow>) =>
    props.onChange(props.rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const keyLabel = props.keyLabel ?? 'Name';
  return (
    <fieldset class="kv" id={fieldId(props.field)}>
      <legend>{props.legend}</legend>
      {props.hint ? <p class="hint">{props.hint}</p> : null}
      <GroupErrors field={props.field} />
      {props.rows.map((row, i) => {
        const rowField = `${props.field}.${row.key}`;
        const rowErrors = row.key ? (errors[rowField] ?? []) : [];
        const base = `${fieldId(props.field)}-${i}`;
        return (
          <div class={`kv-row ${rowErrors.length ? 'has-error' : ''}`} key={i}>
            <div class="field">
              <label for={`${base}-k`}>
                {keyLabel} {i + 1}
              </label>
              <input
                id={`${base}-k`}
                class="mono"
                value={row.key}
                spellcheck={false}
                autoComplete="off"
                onInput={(e) => set(i, { key: e.currentTarget.value })}
              />
            </div>
            <div class="field grow">
              <label for={row.key ? fieldId(rowField) : `${base}-v`}>Value {i + 1}</label>
              <input
                id={row.key ? fieldId(rowField) : `${base}-v`}
                class="mono"
                value={row.value}
                spellcheck={false}
                autoComplete="off"
                aria-invalid={rowErrors.length ? true : undefined}
                aria-describedby={rowErrors.length ? `${fieldId(rowField)}-error` : undefined}
                onInput={(e) => set(i, { value: e.currentTarget.value })}
              />
            </div>
            <button
              type="button"
              class="secondary icon"
              aria-label={`Remove ${keyLabel.toLowerCase()} ${i + 1}${row.key ? ` (${row.key})` : ''}`}
              onClick={() => props.onChange(props.rows.filter((_, j) => j !== i))}
            >
              ✕
            </button>
            {rowErrors.length ? (
              <ul class="field-error" id={`${fieldId(rowField)}-error`} data-field={rowField}>
                {rowErrors.map((m) => (
                  <li key={m}>{m}</li>
                ))}
              </ul>
            ) : null}
          </div>
        );
      })}
      <button
        type="button"
        class="secondary"
        onClick={() => props.onChange([...props.rows, { key: '', value: '' }])}
      >
        Add {keyLabel.toLowerCase()}
      </button>
    </fieldset>
  );
}

const MODE_LABELS: Record<ValueMode, string> = {
  none: 'Nothing',
  fields: 'Fields',
  json: 'JSON',
  text: 'Text',
};

/** A JSON value (http body, emit data) edited as fields, raw JSON with templates, or text. */
export function ValueEditor(props: {
  field: string;
  legend: string;
  mode: ValueMode;
  fields: KvRow[];
  text: string;
  onChange: (patch: { mode?: ValueMode; fields?: KvRow[]; text?: string }) => void;
}) {
  const id = fieldId(props.field);
  const errors = useContext(ErrorsContext)[props.field] ?? [];
  return (
    <fieldset class="value-editor">
      <legend>{props.legend}</legend>
      <div class="segmented" role="radiogroup" aria-label={`${props.legend}: how to write it`}>
        {(Object.keys(MODE_LABELS) as ValueMode[]).map((m) => (
          <label key={m} class={props.mode === m ? 'on' : undefined}>
            <input
              type="radio"
              name={`${id}-mode`}
              checked={props.mode === m}
              onChange={() => props.onChange({ mode: m })}
            />
            {MODE_LABELS[m]}
          </label>
        ))}
      </div>
      {props.mode === 'fields' ? (
        <KvEditor
          field={props.field}
          legend={`${props.legend} fields`}
          keyLabel="Field"
          rows={props.fields}
          hint="Each value is a template; a value that is exactly one {{ expression }} keeps its type (number, object, list)."
          onChange={(rows) => props.onChange({ fields: rows })}
        />
      ) : props.mode === 'json' || props.mode === 'text' ? (
        <div class={`field ${errors.length ? 'has-error' : ''}`}>
          <label for={id}>
            {props.mode === 'json' ? `${props.legend} (JSON)` : `${props.legend} (text)`}
          </label>
          <div class="hint" id={`${id}-hint`}>
            {props.mode === 'json'
              ? 'Any JSON; strings in it may hold {{ expression }} parts.'
              : 'Sent as text; may hold {{ expression }} parts.'}
          </div>
          <textarea
            id={id}
            class="mono"
            rows={6}
            value={props.text}
            spellcheck={false}
            aria-invalid={errors.length ? true : undefined}
            aria-describedby={`${id}-hint${errors.length ? ` ${id}-error` : ''}`}
            onInput={(e) => props.onChange({ text: e.currentTarget.value })}
          />
          <GroupErrors field={props.field} />
        </div>
      ) : null}
      {props.mode === 'none' ? <GroupErrors field={props.field} /> : null}
    </fieldset>
  );
}
