import { createContext, type ComponentChildren } from 'preact';
import { useContext } from 'preact/hooks';

// Labelled form controls. Each control's id comes from its field key (`steps[1].url`), so the
// error summary can link to it and the server's 400 messages land under the right control.

export const ErrorsContext = createContext<Record<string, string[]>>({});

export function fieldId(key: string): string {
  return (
    'f-' +
    key.replace(/[^A-Za-z0-9_-]/g, (c) => (c === '.' || c === '[' || c === ']' ? '-' : `_${c.charCodeAt(0)}`))
  );
}

function useFieldErrors(key: string): string[] {
  return useContext(ErrorsContext)[key] ?? [];
}

interface Common {
  field: string;
  label: ComponentChildren;
  hint?: ComponentChildren;
  required?: boolean;
  class?: string;
}

function describedBy(id: string, hint: boolean, errors: boolean): string | undefined {
  const ids = [hint ? `${id}-hint` : '', errors ? `${id}-error` : ''].filter(Boolean);
  return ids.length ? ids.join(' ') : undefined;
}

function Wrap(props: Common & { id: string; errors: string[]; children: ComponentChildren }) {
  return (
    <div class={`field ${props.errors.length ? 'has-error' : ''} ${props.class ?? ''}`}>
      <label for={props.id}>
        {props.label}
        {props.required ? <span class="required"> (required)</span> : null}
      </label>
      {props.hint ? (
        <div class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </div>
      ) : null}
      {props.children}
      {props.errors.length ? (
        <ul class="field-error" id={`${props.id}-error`} data-field={props.field}>
          {props.errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function TextField(
  props: Common & {
    value: string;
    onInput: (v: string) => void;
    placeholder?: string;
    inputMode?: 'numeric' | 'text' | 'url';
    autoComplete?: string;
    list?: string;
    mono?: boolean;
  },
) {
  const id = fieldId(props.field);
  const errors = useFieldErrors(props.field);
  return (
    <Wrap {...props} id={id} errors={errors}>
      <input
        id={id}
        name={props.field}
        class={props.mono ? 'mono' : undefined}
        type="text"
        value={props.value}
        placeholder={props.placeholder}
        inputMode={props.inputMode}
        autoComplete={props.autoComplete ?? 'off'}
        spellcheck={false}
        list={props.list}
        required={props.required}
        aria-invalid={errors.length ? true : undefined}
        aria-describedby={describedBy(id, !!props.hint, errors.length > 0)}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </Wrap>
  );
}

export function TextArea(
  props: Common & { value: string; onInput: (v: string) => void; rows?: number; placeholder?: string },
) {
  const id = fieldId(props.field);
  const errors = useFieldErrors(props.field);
  return (
    <Wrap {...props} id={id} errors={errors}>
      <textarea
        id={id}
        name={props.field}
        class="mono"
        rows={props.rows ?? 3}
        value={props.value}
        placeholder={props.placeholder}
        spellcheck={false}
        aria-invalid={errors.length ? true : undefined}
        aria-describedby={describedBy(id, !!props.hint, errors.length > 0)}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </Wrap>
  );
}

export function SelectField<T extends string>(
  props: Common & { value: T; onChange: (v: T) => void; options: Array<[T, string]> },
) {
  const id = fieldId(props.field);
  const errors = useFieldErrors(props.field);
  return (
    <Wrap {...props} id={id} errors={errors}>
      <select
        id={id}
        name={props.field}
        value={props.value}
        aria-invalid={errors.length ? true : undefined}
        aria-describedby={describedBy(id, !!props.hint, errors.length > 0)}
        onChange={(e) => props.onChange(e.currentTarget.value as T)}
      >
        {props.options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </Wrap>
  );
}

export function CheckboxField(
  props: Omit<Common, 'required'> & { checked: boolean; onChange: (v: boolean) => void },
) {
  const id = fieldId(props.field);
  const errors = useFieldErrors(props.field);
  return (
    <div class={`field checkbox ${errors.length ? 'has-error' : ''} ${props.class ?? ''}`}>
      <input
        id={id}
        type="checkbox"
        name={props.field}
        checked={props.checked}
        aria-invalid={errors.length ? true : undefined}
        aria-describedby={describedBy(id, !!props.hint, errors.length > 0)}
        onChange={(e) => props.onChange(e.currentTarget.checked)}
      />
      <label for={id}>{props.label}</label>
      {props.hint ? (
        <div class="hint" id={`${id}-hint`}>
          {props.hint}
        </div>
      ) : null}
      {errors.length ? (
        <ul class="field-error" id={`${id}-error`} data-field={props.field}>
          {errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** Errors for a group without a control of its own (a key/value list, a step as a whole). */
export function GroupErrors(props: { field: string }) {
  const errors = useFieldErrors(props.field);
  if (!errors.length) return null;
  return (
    <ul class="field-error" id={`${fieldId(props.field)}-error`} data-field={props.field}>
      {errors.map((e) => (
        <li key={e}>{e}</li>
      ))}
    </ul>
  );
}
