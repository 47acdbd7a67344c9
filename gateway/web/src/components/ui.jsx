// Small shared controls: buttons that show their request, inline errors
// with Retry, copy-to-clipboard, dialogs and multi-selects.
import { cloneElement } from 'preact';
import { useEffect, useRef, useState, useId } from 'preact/hooks';
import { useAction } from '../hooks.js';

export function Spinner({ label }) {
  return (
    <span class="spinner" role={label ? 'status' : undefined} aria-label={label} aria-hidden={label ? undefined : 'true'} />
  );
}

/**
 * A button that is disabled and shows a spinner while `busy`. With
 * `action` (an async function) it runs the action itself, at most once at
 * a time.
 */
export function Button({ busy = false, disabled, children, class: cls = '', type = 'button', ...rest }) {
  return (
    <button type={type} class={`btn ${cls}`} disabled={disabled || busy} aria-busy={busy ? 'true' : undefined} {...rest}>
      {busy && <Spinner />}
      {children}
    </button>
  );
}

export function ActionButton({ action, onError, children, disabled, ...rest }) {
  const a = useAction(action);
  useEffect(() => {
    if (a.error && onError) onError(a.error);
  }, [a.error]);
  return (
    <>
      <Button busy={a.busy} disabled={disabled} onClick={() => a.run()} {...rest}>
        {children}
      </Button>
      {a.error && !onError && <InlineError error={a.error} onRetry={() => a.run()} busy={a.busy} compact />}
    </>
  );
}

/** A failure shown in the page, with a Retry button when onRetry is given. */
export function InlineError({ error, onRetry, busy = false, compact = false, title }) {
  if (!error) return null;
  const msg = error.message || String(error);
  return (
    <div class={`error-box${compact ? ' compact' : ''}`} role="alert">
      <span class="error-text">
        {title && <strong>{title} </strong>}
        {msg}
      </span>
      {onRetry && (
        <Button class="small" busy={busy} onClick={onRetry}>
          Retry
        </Button>
      )}
    </div>
  );
}

/** The "Load more" button of a paginated list, and its error. */
export function LoadMore({ nextToken, action, what }) {
  return (
    <>
      {nextToken && (
        <p class="center">
          <Button busy={action.busy} onClick={() => action.run()}>
            Load more {what}
          </Button>
        </p>
      )}
      <InlineError title={`Could not load more ${what}.`} error={action.error} onRetry={() => action.run()} busy={action.busy} />
    </>
  );
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on another host is not a secure context: fall back to a
  // selected textarea and the copy command.
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.className = 'offscreen';
  document.body.appendChild(ta);
  ta.select();
  try {
    if (!document.execCommand('copy')) throw new Error('copy refused');
  } finally {
    ta.remove();
  }
}

export function CopyButton({ text, label = 'Copy', class: cls = '', ...rest }) {
  const [state, setState] = useState('idle');
  useEffect(() => {
    if (state === 'idle') return undefined;
    const t = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(t);
  }, [state]);
  const click = async () => {
    try {
      await copyText(typeof text === 'function' ? text() : text);
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  return (
    <button type="button" class={`btn small ${cls}`} onClick={click} {...rest}>
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select and copy' : label}
      <span class="sr-only" aria-live="polite">
        {state === 'copied' ? 'Copied to the clipboard' : ''}
      </span>
    </button>
  );
}

/**
 * A modal dialog (native <dialog>: focus stays inside, Escape closes).
 * Rendered only while open.
 */
export function Modal({ title, onClose, children, class: cls = '' }) {
  const ref = useRef(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => {
      if (d && d.open) d.close();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={`modal ${cls}`}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

/**
 * A dropdown of checkboxes: `options` [{value, label}], `selected` values,
 * `onChange(values)`. Values selected but no longer offered stay listed so
 * they can be unchecked.
 */
export function MultiSelect({ label, options, selected, onChange, allLabel = 'All', loading = false, error, onRetry, emptyText = 'Nothing to choose yet' }) {
  const ref = useRef(null);
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (!open) return undefined;
    const outside = (e) => {
      if (ref.current && !ref.current.contains(e.target)) setOpen(false);
    };
    const esc = (e) => {
      if (e.key === 'Escape') {
        setOpen(false);
        ref.current?.querySelector('summary')?.focus();
      }
    };
    document.addEventListener('pointerdown', outside);
    document.addEventListener('keydown', esc);
    return () => {
      document.removeEventListener('pointerdown', outside);
      document.removeEventListener('keydown', esc);
    };
  }, [open]);
  const offered = new Map(options.map((o) => [o.value, o]));
  const all = [...options];
  for (const v of selected) if (!offered.has(v)) all.push({ value: v, label: v });
  const set = new Set(selected);
  const toggle = (v) => {
    const next = set.has(v) ? selected.filter((x) => x !== v) : [...selected, v];
    onChange(next);
  };
  const summary = selected.length === 0 ? allLabel : selected.length === 1 ? selected[0] : `${selected.length} selected`;
  return (
    <details
      class="multi"
      ref={ref}
      open={open}
      onToggle={(e) => setOpen(e.currentTarget.open)}
    >
      <summary aria-label={`${label}: ${summary}`}>
        <span class="multi-label">{label}</span>
        <span class="multi-value">{summary}</span>
      </summary>
      <div class="multi-panel">
        <fieldset>
          <legend class="sr-only">{label}</legend>
          {loading && all.length === 0 && <Spinner label="Loading" />}
          {error && <InlineError error={error} onRetry={onRetry} busy={loading} compact />}
          {!loading && !error && all.length === 0 && <p class="muted small-text">{emptyText}</p>}
          {all.map((o) => (
            <label class="check" key={o.value}>
              <input type="checkbox" checked={set.has(o.value)} onChange={() => toggle(o.value)} />
              <span>{o.label}</span>
            </label>
          ))}
        </fieldset>
        {selected.length > 0 && (
          <button type="button" class="btn small link" onClick={() => onChange([])}>
            Clear
          </button>
        )}
      </div>
    </details>
  );
}

/** A labelled input: <Field label="Email"><input .../></Field>. */
export function Field({ label, hint, error, children }) {
  const id = useId();
  const child = Array.isArray(children) ? children[0] : children;
  const input = cloneElement(child, {
    id,
    'aria-describedby': hint || error ? `${id}-hint` : undefined,
    'aria-invalid': error ? 'true' : undefined,
  });
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {input}
      {(hint || error) && (
        <div id={`${id}-hint`} class={error ? 'field-error' : 'hint'}>
          {error || hint}
        </div>
      )}
    </div>
  );
}
