// Building blocks shared by every screen: links, clear loading/empty/error states, badges, modals, toasts.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Async } from "../hooks";
import { navigate } from "../router";

export function Link(props: JSX.IntrinsicElements["a"] & { href: string }) {
  const { href, onClick, ...rest } = props;
  return (
    <a
      {...rest}
      href={href}
      onClick={(e) => {
        if (onClick) (onClick as (e: MouseEvent) => void)(e as unknown as MouseEvent);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        navigate(href);
      }}
    />
  );
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div class="state state-loading" role="status">
      <span class="spinner" aria-hidden="true" /> {what}…
    </div>
  );
}

export function ErrorBox({ error, retry }: { error: Error | string; retry?: () => void }) {
  const msg = typeof error === "string" ? error : error.message;
  return (
    <div class="state state-error" role="alert">
      <strong>Error:</strong> <span class="error-reason">{msg}</span>
      {retry && (
        <button type="button" class="btn btn-sm" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="state state-empty">{children}</div>;
}

/** Shows loading until the first answer, the API's reason on failure, `empty` when there is nothing. */
export function StateView<T>(props: {
  async: Async<T>;
  empty?: ComponentChildren;
  isEmpty?: (d: T) => boolean;
  what?: string;
  children: (d: T) => ComponentChildren;
}) {
  const { async: a } = props;
  if (a.data === undefined) {
    if (a.error) return <ErrorBox error={a.error} retry={() => void a.reload()} />;
    return <Loading what={props.what} />;
  }
  return (
    <>
      {a.error && <ErrorBox error={a.error} retry={() => void a.reload()} />}
      {props.isEmpty && props.isEmpty(a.data) ? <Empty>{props.empty ?? "Nothing here."}</Empty> : props.children(a.data)}
    </>
  );
}

export function Badge({ kind, children, title }: { kind: string; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge badge-${String(kind).toLowerCase().replace(/[^a-z0-9]+/g, "-")}`} title={title}>
      {children}
    </span>
  );
}

export function Modal(props: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  footer?: ComponentChildren;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>("input, select, textarea, button:not(.modal-x)");
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        props.onClose();
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => {
      window.removeEventListener("keydown", onKey, true);
      prev?.focus?.();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return (
    <div class="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class={`modal ${props.wide ? "modal-wide" : ""}`} role="dialog" aria-modal="true" aria-label={props.title} ref={ref}>
        <header class="modal-head">
          <h2>{props.title}</h2>
          <button type="button" class="modal-x" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </header>
        <div class="modal-body">{props.children}</div>
        {props.footer && <footer class="modal-foot">{props.footer}</footer>}
      </div>
    </div>
  );
}

// ---- toasts: short confirmations and failures that do not block the operator

interface Toast {
  id: number;
  text: string;
  kind: "ok" | "error" | "info";
}
let toastSeq = 0;
const toastListeners = new Set<(t: Toast[]) => void>();
let toasts: Toast[] = [];

export function toast(text: string, kind: Toast["kind"] = "ok"): void {
  const t = { id: ++toastSeq, text, kind };
  toasts = [...toasts, t].slice(-5);
  toastListeners.forEach((fn) => fn(toasts));
  window.setTimeout(() => {
    toasts = toasts.filter((x) => x.id !== t.id);
    toastListeners.forEach((fn) => fn(toasts));
  }, kind === "error" ? 8000 : 3500);
}

export function Toasts() {
  const [list, setList] = useState<Toast[]>(toasts);
  useEffect(() => {
    toastListeners.add(setList);
    return () => void toastListeners.delete(setList);
  }, []);
  return (
    <div class="toasts" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`} role={t.kind === "error" ? "alert" : "status"}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

/** Runs an action, toasting its outcome with the API's reason; returns whether it worked. */
export async function act(what: string, fn: () => Promise<unknown>, ok?: string): Promise<boolean> {
  try {
    await fn();
    if (ok) toast(ok, "ok");
    return true;
  } catch (err) {
    toast(`${what} failed: ${(err as Error).message}`, "error");
    return false;
  }
}

/** A live MJPEG stream as an <img>; the connection is dropped on unmount (browsers cap them per host). */
export function LiveImage({ src, alt, class: cls }: { src: string; alt: string; class?: string }) {
  const ref = useRef<HTMLImageElement>(null);
  const [failed, setFailed] = useState(false);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const img = ref.current;
    return () => {
      if (img) img.src = "";
    };
  }, []);
  useEffect(() => {
    if (!failed) return;
    const id = window.setTimeout(() => {
      setFailed(false);
      setAttempt((a) => a + 1);
    }, 5000);
    return () => window.clearTimeout(id);
  }, [failed]);
  return (
    <div class={`live ${cls ?? ""}`}>
      {failed ? (
        <div class="live-off">No signal — retrying</div>
      ) : (
        <img ref={ref} src={attempt ? `${src}${src.includes("?") ? "&" : "?"}r=${attempt}` : src} alt={alt} onError={() => setFailed(true)} />
      )}
    </div>
  );
}

export function Field(props: { label: string; children: ComponentChildren; hint?: string; wide?: boolean }) {
  return (
    <label class={`field ${props.wide ? "field-wide" : ""}`}>
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint && <span class="field-hint">{props.hint}</span>}
    </label>
  );
}

export function Kbd({ children }: { children: ComponentChildren }) {
  return <kbd>{children}</kbd>;
}
