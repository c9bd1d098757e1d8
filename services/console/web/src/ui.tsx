// Small pieces every page uses.

import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { message, storedKey } from "./api";
import { age, json, localTime, shortId, statusClass } from "./format";
import { href } from "./router";

/** A status as a badge; the text is the status itself, so colour is never the only cue. */
/** OrderLink links to an order's page, naming it by the end of its id (the whole id in its title). */
export function OrderLink({ id }: { id: string }) {
  return (
    <a href={href("orders", id)} title={id} aria-label={`Order ${id}`}>
      <code>{shortId(id)}</code>
    </a>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={statusClass(status)}>{status}</span>;
}

/** A time in local time, with how long ago it was; the machine-readable time in datetime. */
export function When({ at, relative = true }: { at: string; relative?: boolean }) {
  useNow(relative ? 5000 : 0);
  return (
    <time dateTime={at} title={at}>
      {localTime(at)}
      {relative && <span class="muted"> ({age(at)})</span>}
    </time>
  );
}

/** Age only, with the local time as its title. */
export function Age({ at }: { at: string }) {
  useNow(5000);
  return (
    <time dateTime={at} title={localTime(at)}>
      {age(at)}
    </time>
  );
}

/** useNow re-renders every period milliseconds (0: never) and returns the time. */
export function useNow(period: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!period) return;
    const t = setInterval(() => setNow(Date.now()), period);
    return () => clearInterval(t);
  }, [period]);
  return now;
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre class="json" role="region" tabIndex={0} aria-label={label}>
      <code>{typeof value === "string" ? value : json(value)}</code>
    </pre>
  );
}

/** An error for the page, announced at once. */
export function ErrorMessage({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

/** A wide table: it scrolls sideways on a narrow screen, and the scroll area is reachable by keyboard. */
export function TableScroll({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** Whether the next page is the one the console opened on load, signed in already. */
let firstPageOfLoad = storedKey() !== null;

/**
 * Page is a page's frame: its heading takes the focus when the page opens, so that a keyboard or
 * screen reader user lands on the new page, not on the link they followed.
 */
export function Page({ title, actions, children }: { title: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren }) {
  const h1 = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (firstPageOfLoad) {
      // A page opened by loading the console keeps the browser's own start, where Tab reaches the skip link.
      firstPageOfLoad = false;
      return;
    }
    h1.current?.focus({ preventScroll: true });
  }, []);
  return (
    <>
      <div class="page-head">
        <h1 tabIndex={-1} ref={h1}>
          {title}
        </h1>
        {actions && <div class="actions">{actions}</div>}
      </div>
      {children}
    </>
  );
}

let announcer: ((m: string) => void) | null = null;

/** announce says a status message in the page's polite live region ("Order cancelled."). */
export function announce(m: string): void {
  announcer?.(m);
}

/** Announcer is the live region announce writes to; it is also shown, as a toast. */
export function Announcer() {
  const [m, setM] = useState("");
  useEffect(() => {
    let t: ReturnType<typeof setTimeout> | undefined;
    announcer = (msg) => {
      setM(msg);
      clearTimeout(t);
      t = setTimeout(() => setM(""), 6000);
    };
    return () => {
      announcer = null;
      clearTimeout(t);
    };
  }, []);
  return (
    <div class={m ? "toast shown" : "toast"} role="status" aria-live="polite" data-testid="announcer">
      {m}
    </div>
  );
}

/** useAsync runs load when deps change (aborting the previous run) and keeps its result or error. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]) {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    load(ctl.signal).then(
      (v) => {
        if (ctl.signal.aborted) return;
        setValue(v);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (ctl.signal.aborted) return;
        setError(message(err));
        setLoading(false);
      },
    );
    return () => ctl.abort();
  }, [...deps, tick]);
  return { value, error, loading, reload: () => setTick((n) => n + 1), setValue };
}
