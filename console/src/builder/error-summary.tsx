import { useEffect, useRef } from 'preact/hooks';
import { fieldId } from '../components/fields';
import { errorPosition, fieldFor } from './field-errors';

/** Moves focus to a field (opening a collapsed section) and, for an expression, to the position named. */
export function focusField(key: string, message?: string): void {
  const el = document.getElementById(fieldId(key));
  if (!el) return;
  for (let p: HTMLElement | null = el; p; p = p.parentElement)
    if (p instanceof HTMLDetailsElement) p.open = true;
  const target =
    el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement
      ? el
      : el.querySelector<HTMLElement>('input, textarea, select, button');
  target?.focus();
  const pos = message ? errorPosition(message) : undefined;
  if (pos !== undefined && (target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement)) {
    // Positions count from 1 and point just past the problem; select the character before.
    const at = Math.max(0, Math.min(target.value.length, pos - 1));
    try {
      target.setSelectionRange(Math.max(0, at - 1), at);
    } catch {
      // some input types have no selection
    }
  }
}

/**
 * Every problem of the last save, as links to the fields (WCAG's error summary pattern). It takes
 * focus when it appears, so the problems are announced and one Tab away.
 */
export function ErrorSummary(props: { messages: string[]; keys: string[] }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (props.messages.length) ref.current?.focus();
  }, [props.messages]);
  if (!props.messages.length) return null;
  return (
    <div class="error-summary" role="alert" tabIndex={-1} ref={ref} aria-labelledby="error-summary-title">
      <h2 id="error-summary-title">
        {props.messages.length === 1 ? 'There is a problem' : `There are ${props.messages.length} problems`}
      </h2>
      <ul>
        {props.messages.map((m) => {
          const key = fieldFor(m, props.keys);
          return (
            <li key={m}>
              {key && key !== 'steps' && key !== 'trigger' ? (
                <a
                  href={`#${fieldId(key)}`}
                  onClick={(e) => {
                    e.preventDefault();
                    focusField(key, m);
                  }}
                >
                  {m}
                </a>
              ) : (
                m
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
