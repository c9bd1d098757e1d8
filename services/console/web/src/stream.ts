// The live stream, GET /admin/live/stream. It needs the X-API-Key header, which EventSource cannot send,
// so it is read with fetch() and a ReadableStream and parsed here as text/event-stream. One connection is
// shared by every page that listens; it opens with the first listener, closes with the last, and
// reconnects with backoff when it drops.

import { storedKey } from "./api";
import type { LiveEvent, LiveSnapshot } from "./types";

export const STREAM_PATH = "/admin/live/stream";

/** One message of an event stream. */
export interface StreamMessage {
  event: string;
  data: string;
  id?: string;
}

/**
 * SSEParser turns chunks of a text/event-stream body into messages, as the HTML standard's
 * "interpret an event stream" does: lines end with CRLF, LF or CR; "field: value" (one space after the
 * colon is dropped); a line starting with ":" is a comment; a blank line dispatches the message; data
 * lines are joined with newlines; a message without data is dropped.
 */
export class SSEParser {
  private buf = "";
  private event = "";
  private data: string[] = [];
  private id: string | undefined;
  private lastWasCR = false;

  constructor(private readonly emit: (m: StreamMessage) => void) {}

  push(chunk: string): void {
    if (this.lastWasCR && chunk.startsWith("\n")) chunk = chunk.slice(1);
    this.lastWasCR = chunk.endsWith("\r");
    this.buf += chunk;
    const re = /\r\n|\r|\n/g;
    let start = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(this.buf)) !== null) {
      // A CR at the very end may be the first half of a CRLF split across chunks: it still ends the line,
      // and the LF that may follow is skipped above.
      this.line(this.buf.slice(start, m.index));
      start = m.index + m[0].length;
    }
    this.buf = this.buf.slice(start);
  }

  private line(line: string): void {
    if (line === "") {
      if (this.data.length > 0) this.emit({ event: this.event || "message", data: this.data.join("\n"), id: this.id });
      this.event = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.event = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        this.id = value;
        break;
    }
  }
}

export type ConnectionState = "connecting" | "open" | "retrying";

export interface Listener {
  snapshot?: (s: LiveSnapshot) => void;
  event?: (e: LiveEvent) => void;
  state?: (s: ConnectionState, detail?: string) => void;
}

const listeners = new Set<Listener>();
let controller: AbortController | null = null;
let state: ConnectionState = "connecting";
let lastSnapshot: LiveSnapshot | null = null;

function setState(s: ConnectionState, detail?: string): void {
  state = s;
  for (const l of listeners) l.state?.(s, detail);
}

/**
 * listen adds a listener and returns the function that removes it. A new listener gets the latest
 * snapshot at once, if there is one.
 */
export function listen(l: Listener): () => void {
  listeners.add(l);
  l.state?.(state);
  if (lastSnapshot) l.snapshot?.(lastSnapshot);
  if (!controller) {
    controller = new AbortController();
    void run(controller.signal);
  }
  return () => {
    listeners.delete(l);
    if (listeners.size === 0 && controller) {
      controller.abort();
      controller = null;
      lastSnapshot = null;
      state = "connecting";
    }
  };
}

/** Refused is thrown when the server refuses the key: no point retrying. */
class Refused extends Error {}

let refusedHandler: () => void = () => {};

export function onStreamRefused(f: () => void): void {
  refusedHandler = f;
}

async function run(signal: AbortSignal): Promise<void> {
  let delay = 500;
  while (!signal.aborted) {
    setState(state === "open" ? "retrying" : state);
    try {
      await readOnce(signal, () => {
        delay = 500;
        setState("open");
      });
      if (signal.aborted) return;
      setState("retrying", "the stream ended");
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof Refused) {
        refusedHandler();
        return;
      }
      setState("retrying", err instanceof Error ? err.message : String(err));
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 15000);
  }
}

async function readOnce(signal: AbortSignal, opened: () => void): Promise<void> {
  const key = storedKey();
  const res = await fetch(STREAM_PATH, {
    headers: { Accept: "text/event-stream", ...(key ? { "X-API-Key": key } : {}) },
    signal,
    cache: "no-store",
  });
  if (res.status === 401 || res.status === 403) throw new Refused();
  if (!res.ok || !res.body) throw new Error(`the stream answered ${res.status}`);
  opened();
  const parser = new SSEParser(dispatch);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.push(value);
    }
  } finally {
    reader.releaseLock();
  }
}

function dispatch(m: StreamMessage): void {
  let data: unknown;
  try {
    data = JSON.parse(m.data);
  } catch {
    return;
  }
  if (m.event === "snapshot") {
    lastSnapshot = data as LiveSnapshot;
    for (const l of listeners) l.snapshot?.(lastSnapshot);
  } else if (m.event === "event") {
    for (const l of listeners) l.event?.(data as LiveEvent);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}
