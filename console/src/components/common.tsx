import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';

export function StatusBadge(props: { status: string }) {
  return <span class={`badge status-${props.status}`}>{props.status.replace('_', ' ')}</span>;
}

/** A read-only value with a Copy button; the text stays selectable where the clipboard is refused. */
export function CopyField(props: { label: string; value: string; id: string }) {
  const [copied, setCopied] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied('Copied');
    } catch {
      input.current?.select();
      setCopied('Selected: press Ctrl+C (⌘C) to copy');
    }
  };
  return (
    <div class="copy-field">
      <label for={props.id}>{props.label}</label>
      <div class="row">
        <input
          id={props.id}
          ref={input}
          class="mono"
          readOnly
          value={props.value}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button
          type="button"
          class="secondary"
          onClick={() => void copy()}
          aria-describedby={`${props.id}-copied`}
        >
          Copy
        </button>
      </div>
      <span id={`${props.id}-copied`} class="hint" role="status">
        {copied}
      </span>
    </div>
  );
}

/**
 * A modal confirmation on the native <dialog>: focus moves into it, Escape cancels, focus returns
 * to the button that opened it.
 */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={props.onCancel} onClose={props.onCancel}>
      <form method="dialog" onSubmit={(e) => e.preventDefault()}>
        <h2 id={titleId}>{props.title}</h2>
        <div>{props.children}</div>
        <div class="actions">
          <button type="button" class="secondary" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="button" class={props.danger ? 'danger' : undefined} onClick={props.onConfirm}>
            {props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** A polite live region: screen readers hear what changed (saved, copied, run finished). */
export function Notice(props: { kind?: 'info' | 'error' | 'success'; children: ComponentChildren }) {
  if (!props.children) return null;
  return (
    <div class={`notice ${props.kind ?? 'info'}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

export function JsonBlock(props: { value: unknown; label?: string }) {
  const text = typeof props.value === 'string' ? props.value : JSON.stringify(props.value, null, 2);
  return (
    <pre class="json" tabIndex={0} aria-label={props.label}>
      {text}
    </pre>
  );
}

/** The h1 of each page takes focus after navigation, so keyboard and screen reader users start there. */
export function PageTitle(props: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {props.children}
    </h1>
  );
}

/** Re-runs `fn` every `ms` while `active`, never overlapping; stops when the component goes. */
export function usePoll(fn: () => Promise<void>, ms: number, active: boolean): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: number | undefined;
    const tick = async () => {
      try {
        await saved.current();
      } finally {
        if (!stopped) timer = window.setTimeout(() => void tick(), ms);
      }
    };
    timer = window.setTimeout(() => void tick(), ms);
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [active, ms]);
}
